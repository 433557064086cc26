package hostcgroup

import (
	"fmt"
	"strconv"
	"strings"
)

// Resources are the limits of a sandbox's cgroup, whole: each call that
// applies them writes every one, so that a limit no longer asked for goes
// back to its default.
type Resources struct {
	// CPUShares is the CPU weight in v1 shares (2..262144; on v2 it becomes
	// cpu.weight as runc converts it); 0 is the default (1024, weight 100).
	CPUShares uint64
	// CPUQuota is the CPU time per CPUPeriod, in microseconds; 0 is none.
	CPUQuota int64
	// CPUPeriod is the quota's period in microseconds; 0 is the kernel's
	// 100000.
	CPUPeriod uint64
	// CPUs and Mems are cpuset lists ("0-3,6"); "" is the parent's.
	CPUs, Mems string
	// MemoryBytes is the memory limit; 0 is none.
	MemoryBytes int64
}

// Bounds the kernel puts on the CPU knobs (kernel/sched/core.c).
const (
	minShares       = 2
	maxShares       = 262144
	minCFSPeriodUs  = 1000
	maxCFSPeriodUs  = 1000000
	minCFSQuotaUs   = 1000
	defaultShares   = 1024
	defaultWeight   = 100
	defaultPeriodUs = 100000
)

// Validate refuses what the kernel would, naming the knob.
func (r Resources) Validate() error {
	switch {
	case r.CPUShares != 0 && (r.CPUShares < minShares || r.CPUShares > maxShares):
		return fmt.Errorf("%w: CPU shares %d: want %d..%d", ErrInvalid, r.CPUShares, minShares, maxShares)
	case r.CPUPeriod != 0 && (r.CPUPeriod < minCFSPeriodUs || r.CPUPeriod > maxCFSPeriodUs):
		return fmt.Errorf("%w: CPU period %d µs: want %d..%d", ErrInvalid, r.CPUPeriod, minCFSPeriodUs, maxCFSPeriodUs)
	case r.CPUQuota < 0 || r.CPUQuota != 0 && r.CPUQuota < minCFSQuotaUs:
		return fmt.Errorf("%w: CPU quota %d µs: want at least %d", ErrInvalid, r.CPUQuota, minCFSQuotaUs)
	case r.MemoryBytes < 0:
		return fmt.Errorf("%w: memory limit %d", ErrInvalid, r.MemoryBytes)
	}
	for _, l := range []struct{ name, list string }{{"cpus", r.CPUs}, {"mems", r.Mems}} {
		if err := checkList(l.list); err != nil {
			return fmt.Errorf("%w: cpuset %s %q: %v", ErrInvalid, l.name, l.list, err)
		}
	}
	return nil
}

// checkList checks cpuset list syntax: numbers and ranges, comma-separated.
func checkList(s string) error {
	if s == "" {
		return nil
	}
	for _, item := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return fmt.Errorf("%q is not a number or range", item)
		}
		if isRange {
			if b, err := strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return fmt.Errorf("%q is not a range", item)
			}
		}
	}
	return nil
}

// Weight is cpu.weight for v1 shares, as runc converts them: 2..262144
// mapped linearly onto 1..10000; 0 (unset) is v2's default, 100.
func Weight(shares uint64) uint64 {
	if shares == 0 {
		return defaultWeight
	}
	return 1 + (shares-minShares)*9999/(maxShares-minShares)
}

// write is one interface file of a cgroup to write.
type write struct {
	file, value string
	// fromParent: the value is the parent cgroup's file (a v1 cpuset the
	// sandbox leaves unrestricted).
	fromParent bool
}

// writes are the files that apply r in a cgroup of h, in order; they
// include a reset for each limit of a controller h has that r leaves
// unset. A limit r asks for that no hierarchy can apply is checked by
// Plan, which sees them all.
func writes(h Hierarchy, r Resources) []write {
	if h.Version == V2 {
		return writesV2(h, r)
	}
	var w []write
	if h.Has("cpu") {
		period := or(r.CPUPeriod, defaultPeriodUs)
		quota := "-1"
		if r.CPUQuota > 0 {
			quota = strconv.FormatInt(r.CPUQuota, 10)
		}
		// No quota first: a new period against the old quota (or the
		// other way round) may be refused on the way.
		w = append(w, write{file: "cpu.cfs_quota_us", value: "-1"},
			write{file: "cpu.cfs_period_us", value: strconv.FormatUint(period, 10)},
			write{file: "cpu.cfs_quota_us", value: quota},
			write{file: "cpu.shares", value: strconv.FormatUint(or(r.CPUShares, defaultShares), 10)})
	}
	if h.Has("cpuset") {
		w = append(w, cpusetWrite("cpuset.cpus", r.CPUs), cpusetWrite("cpuset.mems", r.Mems))
	}
	if h.Has("memory") {
		limit := "-1"
		if r.MemoryBytes > 0 {
			limit = strconv.FormatInt(r.MemoryBytes, 10)
		}
		w = append(w, write{file: "memory.limit_in_bytes", value: limit})
	}
	return w
}

func writesV2(h Hierarchy, r Resources) []write {
	var w []write
	if h.Has("cpu") {
		quota := "max"
		if r.CPUQuota > 0 {
			quota = strconv.FormatInt(r.CPUQuota, 10)
		}
		w = append(w, write{file: "cpu.max", value: quota + " " + strconv.FormatUint(or(r.CPUPeriod, defaultPeriodUs), 10)},
			write{file: "cpu.weight", value: strconv.FormatUint(Weight(r.CPUShares), 10)})
	}
	if h.Has("cpuset") {
		// An empty v2 cpuset takes its parent's effective one.
		w = append(w, write{file: "cpuset.cpus", value: r.CPUs}, write{file: "cpuset.mems", value: r.Mems})
	}
	if h.Has("memory") {
		limit := "max"
		if r.MemoryBytes > 0 {
			limit = strconv.FormatInt(r.MemoryBytes, 10)
		}
		w = append(w, write{file: "memory.max", value: limit})
	}
	return w
}

func cpusetWrite(file, list string) write {
	if list == "" {
		return write{file: file, fromParent: true}
	}
	return write{file: file, value: list}
}

func or(v, def uint64) uint64 {
	if v == 0 {
		return def
	}
	return v
}

// needs are the controllers r cannot do without: memory for a memory
// limit, cpu for shares or a quota, cpuset for a cpuset.
func needs(r Resources) []string {
	var n []string
	if r.CPUShares != 0 || r.CPUQuota != 0 || r.CPUPeriod != 0 {
		n = append(n, "cpu")
	}
	if r.CPUs != "" || r.Mems != "" {
		n = append(n, "cpuset")
	}
	if r.MemoryBytes != 0 {
		n = append(n, "memory")
	}
	return n
}
