package qemu

import "strconv"

const mib = 1 << 20

// Memory is the guest RAM.
type Memory struct {
	SizeMiB int
	// Shared backs RAM with a shared memfd (plus a NUMA node using it) so
	// vhost-user backends (virtiofsd, DPDK) can map it. Validation demands it
	// when a vhost-user device is present rather than turning it on behind
	// the caller's back: a VM that may get vhost-user devices hot-plugged
	// later must be started with it, and only the caller knows that.
	Shared bool
	// Slots and MaxMiB reserve hotpluggable memory space; every NVDIMM takes
	// a slot and its size out of MaxMiB-SizeMiB.
	Slots  int
	MaxMiB int
}

// Validate checks the memory alone.
func (m Memory) Validate() error {
	if m.SizeMiB <= 0 {
		return invalid("", "", "Memory.SizeMiB", "must be > 0, got %d", m.SizeMiB)
	}
	if m.Slots < 0 || m.Slots > 256 {
		return invalid("", "", "Memory.Slots", "%d is outside 0..256", m.Slots)
	}
	if m.Slots > 0 && m.MaxMiB <= m.SizeMiB {
		return invalid("", "", "Memory.MaxMiB", "must exceed SizeMiB (%d) when Slots is set, got %d", m.SizeMiB, m.MaxMiB)
	}
	if m.Slots == 0 && m.MaxMiB != 0 {
		return invalid("", "", "Memory.MaxMiB", "needs Slots > 0")
	}
	return nil
}

// args renders -m and, for shared memory, the memfd backend and the NUMA
// node that makes it the guest RAM.
func (m Memory) args() []string {
	size := strconv.Itoa(m.SizeMiB) + "M"
	props := []Prop{}
	if m.Slots > 0 {
		props = append(props, Int("slots", int64(m.Slots)), Str("maxmem", strconv.Itoa(m.MaxMiB)+"M"))
	}
	args := []string{"-m", opts(size, props...)}
	if m.Shared {
		mem := Object{QOMType: "memory-backend-memfd", ID: memObjectID, Props: []Prop{
			Int("size", int64(m.SizeMiB)*mib), Bool("share", true),
		}}
		args = append(args, "-object", mem.Arg(), "-numa", opts("node", Str("memdev", memObjectID)))
	}
	return args
}
