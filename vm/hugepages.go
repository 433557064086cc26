package vm

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
)

// hugepagesDir is where the kernel keeps the 2 MiB page pool's counters,
// under /sys/kernel/mm and under each NUMA node's directory.
const hugepagesDir = "hugepages/hugepages-2048kB"

// HostHugepages is the host's pool of 2 MiB huge pages, as DetectHugepages
// read it. It is a snapshot, not a reservation: QEMU reserves the pages when
// it maps the guest RAM, and fails to start if they are gone by then.
type HostHugepages struct {
	// Free counts the free pages not promised to a mapping already
	// (free_hugepages - resv_hugepages).
	Free int
	// NodeFree is each NUMA node's free pages; nil when the host exposes
	// no NUMA nodes.
	NodeFree map[int]int
}

// DetectHugepages reads the 2 MiB huge page pool of the host under root (""
// or "/" for the real one). What it cannot read counts as absent: planning
// then says what is missing.
func DetectHugepages(root string) HostHugepages {
	pool := filepath.Join(root, "/sys/kernel/mm", hugepagesDir)
	h := HostHugepages{
		Free: max(0, readPoolCount(filepath.Join(pool, "free_hugepages"))-readPoolCount(filepath.Join(pool, "resv_hugepages"))),
	}
	nodes, _ := filepath.Glob(filepath.Join(root, "/sys/devices/system/node/node[0-9]*"))
	for _, dir := range nodes {
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), "node"))
		if err != nil {
			continue
		}
		if h.NodeFree == nil {
			h.NodeFree = map[int]int{}
		}
		h.NodeFree[n] = readPoolCount(filepath.Join(dir, hugepagesDir, "free_hugepages"))
	}
	return h
}

// readPoolCount reads a sysfs counter, 0 when it cannot.
func readPoolCount(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
}

// planHugepages is the huge-page backing of the guest RAM with
// hypervisor.hugepages on, nil when it is off. checkHugepages has made sure
// the host can give it.
func planHugepages(h configs.Hypervisor, host HostHugepages, node int) *qemu.Hugepages {
	if !h.Hugepages {
		return nil
	}
	return &qemu.Hugepages{PageMiB: configs.HugepageMiB, HostNodes: hostNodes(node)}
}

func hostNodes(node int) []int {
	if node < 0 {
		return nil
	}
	return []int{node}
}

// checkHugepages refuses, with hypervisor.hugepages on, a host that cannot
// back the guest RAM: too few free pages, or too few on
// the NUMA node the RAM is bound to (a bound guest would get SIGBUS there
// even with free pages elsewhere).
func checkHugepages(h configs.Hypervisor, host HostHugepages, node int) error {
	if !h.Hugepages {
		return nil
	}
	need := h.MemoryMiB / configs.HugepageMiB
	switch {
	case node < -1:
		return fmt.Errorf("%w: NUMA node %d: want a node number, or -1 for none", ErrInvalid, node)
	case host.Free < need:
		return fmt.Errorf("%w: hypervisor.hugepages: the guest's %d MiB need %d free 2 MiB huge pages, the host has %d (raise /proc/sys/vm/nr_hugepages by %d)", ErrHost, h.MemoryMiB, need, host.Free, need-host.Free)
	case node < 0:
		return nil
	}
	free, ok := host.NodeFree[node]
	if !ok {
		return fmt.Errorf("%w: hypervisor.hugepages: guest RAM is to be bound to NUMA node %d, which the host does not have", ErrHost, node)
	}
	if free < need {
		return fmt.Errorf("%w: hypervisor.hugepages: the guest's %d MiB need %d free 2 MiB huge pages on NUMA node %d, which has %d (raise /sys/devices/system/node/node%d/%s/nr_hugepages)", ErrHost, h.MemoryMiB, need, node, free, node, hugepagesDir)
	}
	return nil
}
