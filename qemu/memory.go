package qemu

import "strconv"

const mib = 1 << 20

// maxHostNodes is QEMU's MAX_NODES: it refuses host-nodes beyond it.
const maxHostNodes = 128

// Memory is the guest RAM.
type Memory struct {
	SizeMiB int
	// Shared backs RAM with a shared memfd (plus a NUMA node using it) so
	// vhost-user backends (virtiofsd, DPDK) can map it. Validation demands it
	// when a vhost-user device is present rather than turning it on behind
	// the caller's back: a VM that may get vhost-user devices hot-plugged
	// later must be started with it, and only the caller knows that.
	Shared bool
	// Hugepages, when set, takes the shared RAM from the host's huge page
	// pool (a hugetlb memfd) instead of normal pages. It needs Shared:
	// huge-page RAM is for pods whose vhost-user backends (DPDK) map it,
	// and DPDK wants huge pages.
	Hugepages *Hugepages
	// File backs the RAM with this file (memory-backend-file) rather than
	// anonymous memory or a memfd: a VM template's RAM. With Shared the
	// guest writes into the file (the template VM, saved with its RAM left
	// there); without, the file's pages are mapped copy-on-write, shared
	// with every other VM mapping them until the guest writes one (a
	// template's clone). QEMU 7.2 opens the file read-write either way.
	File string
	// Slots and MaxMiB reserve hotpluggable memory space; every NVDIMM takes
	// a slot and its size out of MaxMiB-SizeMiB.
	Slots  int
	MaxMiB int
}

// Hugepages is a huge-page backing for the guest RAM: a memfd from the
// kernel's pool of PageMiB pages (MFD_HUGETLB), which needs no hugetlbfs
// mount and no file QEMU would create in one, and leaves nothing behind.
type Hugepages struct {
	// PageMiB is the huge page size; Memory.SizeMiB must be a multiple.
	PageMiB int
	// HostNodes binds the RAM to these host NUMA nodes (policy=bind), the
	// nodes of the devices passed through, so their DMA stays local. Empty:
	// no binding.
	HostNodes []int
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
	if m.File != "" {
		if m.Hugepages != nil {
			return invalid("", "", "Memory.File", "cannot back huge-page RAM (Hugepages takes it from a hugetlb memfd)")
		}
		return checkPath("", "", "Memory.File", m.File)
	}
	if m.Hugepages != nil {
		return m.Hugepages.validate(m)
	}
	return nil
}

func (h Hugepages) validate(m Memory) error {
	switch {
	case !m.Shared:
		return invalid("", "", "Memory.Hugepages", "needs Memory.Shared")
	case h.PageMiB <= 0:
		return invalid("", "", "Memory.Hugepages.PageMiB", "must be > 0, got %d", h.PageMiB)
	case m.SizeMiB%h.PageMiB != 0:
		return invalid("", "", "Memory.SizeMiB", "%d is not a multiple of the %d MiB huge page", m.SizeMiB, h.PageMiB)
	}
	for _, n := range h.HostNodes {
		if n < 0 || n >= maxHostNodes {
			return invalid("", "", "Memory.Hugepages.HostNodes", "node %d is outside 0..%d", n, maxHostNodes-1)
		}
	}
	return nil
}

// args renders -m and, for shared memory, the memory backend and the NUMA
// node that makes it the guest RAM.
func (m Memory) args() []string {
	size := strconv.Itoa(m.SizeMiB) + "M"
	props := []Prop{}
	if m.Slots > 0 {
		props = append(props, Int("slots", int64(m.Slots)), Str("maxmem", strconv.Itoa(m.MaxMiB)+"M"))
	}
	args := []string{"-m", opts(size, props...)}
	if m.Shared || m.File != "" {
		args = append(args, "-object", m.backend().Arg(), "-numa", opts("node", Str("memdev", memObjectID)))
	}
	return args
}

// backend is the RAM's backend: a file (File), or a shared memfd, of huge
// pages or not.
func (m Memory) backend() Object {
	if m.File != "" {
		return Object{QOMType: "memory-backend-file", ID: memObjectID, Props: []Prop{
			Int("size", int64(m.SizeMiB)*mib), Str("mem-path", m.File), Bool("share", m.Shared)}}
	}
	props := []Prop{Int("size", int64(m.SizeMiB)*mib), Bool("share", true)}
	h := m.Hugepages
	if h == nil {
		return Object{QOMType: "memory-backend-memfd", ID: memObjectID, Props: props}
	}
	props = append(props, Bool("hugetlb", true), Int("hugetlbsize", int64(h.PageMiB)*mib))
	// The command line takes a list as the key repeated once per value.
	for _, n := range h.HostNodes {
		props = append(props, Str("host-nodes", strconv.Itoa(n)))
	}
	if len(h.HostNodes) > 0 {
		props = append(props, Str("policy", "bind"))
	}
	return Object{QOMType: "memory-backend-memfd", ID: memObjectID, Props: props}
}
