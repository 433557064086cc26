package qemu

import (
	"path/filepath"
	"strconv"
)

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
	// Hugepages, when set, puts the shared RAM in a file on a hugetlbfs
	// mount instead of a memfd. It needs Shared: huge-page RAM is for pods
	// whose vhost-user backends (DPDK) map it, and DPDK wants huge pages.
	Hugepages *Hugepages
	// Slots and MaxMiB reserve hotpluggable memory space; every NVDIMM takes
	// a slot and its size out of MaxMiB-SizeMiB.
	Slots  int
	MaxMiB int
}

// Hugepages is a hugetlbfs backing for the guest RAM.
type Hugepages struct {
	// MountPath is a hugetlbfs mount (e.g. /dev/hugepages). QEMU creates its
	// RAM file there and unlinks it at once, so nothing is left behind.
	MountPath string
	// PageMiB is the mount's page size; Memory.SizeMiB must be a multiple.
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
	if m.Hugepages != nil {
		return m.Hugepages.validate(m)
	}
	return nil
}

func (h Hugepages) validate(m Memory) error {
	switch {
	case !m.Shared:
		return invalid("", "", "Memory.Hugepages", "needs Memory.Shared")
	case !filepath.IsAbs(h.MountPath):
		return invalid("", "", "Memory.Hugepages.MountPath", "%q is not an absolute path", h.MountPath)
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
	if m.Shared {
		args = append(args, "-object", m.backend().Arg(), "-numa", opts("node", Str("memdev", memObjectID)))
	}
	return args
}

// backend is the shared RAM's backend: a memfd, or a file on hugetlbfs.
func (m Memory) backend() Object {
	size := Int("size", int64(m.SizeMiB)*mib)
	h := m.Hugepages
	if h == nil {
		return Object{QOMType: "memory-backend-memfd", ID: memObjectID, Props: []Prop{size, Bool("share", true)}}
	}
	props := []Prop{size, Str("mem-path", h.MountPath), Bool("share", true)}
	// The command line takes a list as the key repeated once per value.
	for _, n := range h.HostNodes {
		props = append(props, Str("host-nodes", strconv.Itoa(n)))
	}
	if len(h.HostNodes) > 0 {
		props = append(props, Str("policy", "bind"))
	}
	return Object{QOMType: "memory-backend-file", ID: memObjectID, Props: props}
}
