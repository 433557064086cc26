package hostcgroup

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stats are a cgroup's usage, read as containerd's cgroups library (and
// so the CRI plugin and kubelet) reads it.
type Stats struct {
	// MemoryUsageBytes is memory.usage_in_bytes (v1) or memory.current
	// (v2); MemoryLimitBytes the cgroup's own limit, 0 for none.
	MemoryUsageBytes, MemoryLimitBytes uint64
	// MemoryWorkingSetBytes is the usage less the inactive file pages,
	// kubelet's working set.
	MemoryWorkingSetBytes uint64
	// CPU time, in nanoseconds: v1 cpuacct.usage and cpuacct.stat (USER_HZ
	// ticks), v2 cpu.stat.
	CPUUsageNs, CPUUserNs, CPUSystemNs uint64
	// Pids is pids.current: tasks, threads included; 0 without the pids
	// controller.
	Pids uint64
}

// userHZ is the tick of cpuacct.stat: USER_HZ, 100 on every Linux
// architecture Kite runs on.
const userHZ = 100

// unlimited: a v1 limit at or above it is PAGE_COUNTER_MAX, no limit.
const unlimited = math.MaxInt64 / 2

// Stats reads the cgroup's usage.
func (c *Cgroup) Stats() (Stats, error) {
	var s Stats
	// v2 first: in a hybrid layout the cgroup2 hierarchy has cpu.stat
	// without any controller, and the v1 controllers have the numbers.
	for _, v := range []Version{V2, V1} {
		for _, d := range c.plan.Dirs {
			if d.Hierarchy.Version != v {
				continue
			}
			var err error
			if v == V2 {
				err = statsV2(d, &s)
			} else {
				err = statsV1(d, &s)
			}
			if err != nil {
				return Stats{}, fmt.Errorf("reading the usage of cgroup %s: %w", d.Cgroup, err)
			}
		}
	}
	return s, nil
}

func statsV1(d Dir, s *Stats) error {
	h := d.Hierarchy
	if h.Has("memory") {
		usage, err := readUint(d.Path, "memory.usage_in_bytes")
		if err != nil {
			return err
		}
		limit, err := readUint(d.Path, "memory.limit_in_bytes")
		if err != nil {
			return err
		}
		stat, err := readKeyed(d.Path, "memory.stat")
		if err != nil {
			return err
		}
		s.MemoryUsageBytes, s.MemoryWorkingSetBytes = usage, workingSet(usage, stat["total_inactive_file"])
		if limit < unlimited {
			s.MemoryLimitBytes = limit
		}
	}
	if h.Has("cpuacct") {
		usage, err := readUint(d.Path, "cpuacct.usage")
		if err != nil {
			return err
		}
		stat, err := readKeyed(d.Path, "cpuacct.stat")
		if err != nil {
			return err
		}
		s.CPUUsageNs, s.CPUUserNs, s.CPUSystemNs = usage, stat["user"]*1e9/userHZ, stat["system"]*1e9/userHZ
	}
	if h.Has("pids") {
		n, err := readUint(d.Path, "pids.current")
		if err != nil {
			return err
		}
		s.Pids = n
	}
	return nil
}

func statsV2(d Dir, s *Stats) error {
	h := d.Hierarchy
	if h.Has("memory") {
		usage, err := readUint(d.Path, "memory.current")
		if err != nil {
			return err
		}
		stat, err := readKeyed(d.Path, "memory.stat")
		if err != nil {
			return err
		}
		s.MemoryUsageBytes, s.MemoryWorkingSetBytes = usage, workingSet(usage, stat["inactive_file"])
		if limit, err := readFile(d.Path, "memory.max"); err != nil {
			return err
		} else if limit != "max" {
			if s.MemoryLimitBytes, err = strconv.ParseUint(limit, 10, 64); err != nil {
				return fmt.Errorf("memory.max: %q", limit)
			}
		}
	}
	// cpu.stat is there without the cpu controller too.
	stat, err := readKeyed(d.Path, "cpu.stat")
	if err != nil {
		return err
	}
	s.CPUUsageNs, s.CPUUserNs, s.CPUSystemNs = stat["usage_usec"]*1000, stat["user_usec"]*1000, stat["system_usec"]*1000
	if h.Has("pids") {
		n, err := readUint(d.Path, "pids.current")
		if err != nil {
			return err
		}
		s.Pids = n
	}
	return nil
}

func workingSet(usage, inactiveFile uint64) uint64 {
	if inactiveFile > usage {
		return 0
	}
	return usage - inactiveFile
}

func readUint(dir, file string) (uint64, error) {
	v, err := readFile(dir, file)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a number", filepath.Join(dir, file), v)
	}
	return n, nil
}

// readKeyed reads a "key value" per line file (memory.stat, cpu.stat).
func readKeyed(dir, file string) (map[string]uint64, error) {
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return nil, fmt.Errorf("reading cgroup file: %w", err)
	}
	defer f.Close()
	out := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, file), err)
	}
	return out, nil
}
