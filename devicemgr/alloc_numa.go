package devicemgr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ParseCPUList parses the kernel's CPU list format ("0-3,8,10-11"), as
// cpuset.cpus, an OCI spec's linux.resources.cpu.cpus and sysfs cpulist
// files write it. The result is sorted, without duplicates.
func ParseCPUList(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var cpus []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, fmt.Errorf("%w: CPU list %q: bad element %q", ErrBadRequest, s, part)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	slices.Sort(cpus)
	return slices.Compact(cpus), nil
}

// NUMANodesOf returns the NUMA nodes (sorted) that hold the given CPUs,
// from sysfsRoot/devices/system/node/node<N>/cpulist: the nodes a pod's
// devices should come from (PlanInput.PreferNUMA). A host without that
// directory (no NUMA support) gives none, so no preference.
func NUMANodesOf(sysfsRoot string, cpus []int) ([]int, error) {
	dir := filepath.Join(sysfsRoot, "devices", "system", "node")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing NUMA nodes: %w", err)
	}
	var nodes []int
	for _, e := range ents {
		n, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "node"))
		if err != nil || !strings.HasPrefix(e.Name(), "node") {
			continue // has_cpu, online, possible...
		}
		onNode, err := nodeCPUs(sysfsRoot, n)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(cpus, func(c int) bool { return slices.Contains(onNode, c) }) {
			nodes = append(nodes, n)
		}
	}
	slices.Sort(nodes)
	return nodes, nil
}

// NearFirst orders cpus (a container's cpuset) with the CPUs of NUMA node
// first, each part in its order: pinning vCPU i to the i-th CPU then puts
// the vCPUs next to the pod's devices when the cpuset spans nodes. A host
// that does not say which CPUs the node has leaves cpus as they are.
func NearFirst(sysfsRoot string, cpus []int, node int) ([]int, error) {
	onNode, err := nodeCPUs(sysfsRoot, node)
	if errors.Is(err, os.ErrNotExist) {
		return cpus, nil
	}
	if err != nil {
		return nil, err
	}
	near := func(c int) bool { return slices.Contains(onNode, c) }
	out := make([]int, 0, len(cpus))
	for _, c := range cpus {
		if near(c) {
			out = append(out, c)
		}
	}
	for _, c := range cpus {
		if !near(c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// nodeCPUs reads the CPUs of NUMA node from its sysfs cpulist.
func nodeCPUs(sysfsRoot string, node int) ([]int, error) {
	path := filepath.Join(sysfsRoot, "devices", "system", "node", "node"+strconv.Itoa(node), "cpulist")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CPUs of NUMA node %d: %w", node, err)
	}
	cpus, err := ParseCPUList(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, path, err)
	}
	return cpus, nil
}

// NUMAMismatch is a function away from the CPUs it serves.
type NUMAMismatch struct {
	BDF      string
	Node     int   // the function's NUMA node
	CPUNodes []int // the nodes of the CPUs
	Source   string
}

func (m NUMAMismatch) String() string {
	return fmt.Sprintf("PCI function %s (%s) is on NUMA node %d, the pod's CPUs on node(s) %s: its traffic crosses the interconnect",
		m.BDF, m.Source, m.Node, joinInts(m.CPUNodes))
}

// CheckNUMA compares the NUMA node of each assigned function with the
// nodes of cpus (the pod's exclusive CPUs, or its cpuset): a function on
// a node none of the CPUs is on is a mismatch. Functions whose node the
// host does not say (-1), or no CPUs, or a host without NUMA, give none.
func CheckNUMA(sysfsRoot string, as []Assignment, cpus []int) ([]NUMAMismatch, error) {
	if len(cpus) == 0 || len(as) == 0 {
		return nil, nil
	}
	nodes, err := NUMANodesOf(sysfsRoot, cpus)
	if err != nil || len(nodes) == 0 {
		return nil, err
	}
	var out []NUMAMismatch
	for _, a := range as {
		if a.NUMANode >= 0 && !slices.Contains(nodes, a.NUMANode) {
			out = append(out, NUMAMismatch{BDF: a.BDF, Node: a.NUMANode, CPUNodes: nodes, Source: a.Source})
		}
	}
	return out, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
