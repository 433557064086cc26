package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stats is a cgroup's usage.
type Stats struct {
	CPUUsageNS   uint64
	CPUUserNS    uint64
	CPUSystemNS  uint64
	MemoryUsage  uint64
	MemoryLimit  uint64 // math.MaxUint64 when unlimited
	IOReadBytes  uint64
	IOWriteBytes uint64
	Pids         uint64
}

// Stats reads the cgroup's usage. Files of controllers that are not
// enabled read as zero.
func (g *Group) Stats() (Stats, error) {
	var s Stats
	cpu, err := readKeyValues(filepath.Join(g.path, "cpu.stat"))
	if err != nil {
		return Stats{}, fmt.Errorf("reading cpu.stat of %s: %w", g.path, err)
	}
	s.CPUUsageNS = atou(cpu["usage_usec"]) * 1000
	s.CPUUserNS = atou(cpu["user_usec"]) * 1000
	s.CPUSystemNS = atou(cpu["system_usec"]) * 1000
	s.MemoryUsage, err = readValue(filepath.Join(g.path, "memory.current"))
	if err != nil {
		return Stats{}, err
	}
	s.MemoryLimit, err = readValue(filepath.Join(g.path, "memory.max"))
	if err != nil {
		return Stats{}, err
	}
	s.Pids, err = readValue(filepath.Join(g.path, "pids.current"))
	if err != nil {
		return Stats{}, err
	}
	io, err := os.ReadFile(filepath.Join(g.path, "io.stat"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return Stats{}, fmt.Errorf("reading io.stat of %s: %w", g.path, err)
	}
	s.IOReadBytes, s.IOWriteBytes = parseIOStat(string(io))
	return s, nil
}

// readValue reads a single-value file; "max" is math.MaxUint64 and a
// missing file (controller not enabled) is zero.
func readValue(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "max" {
		return math.MaxUint64, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading %s: %q is not a number", path, v)
	}
	return n, nil
}

// parseIOStat sums rbytes and wbytes over the devices of an io.stat file
// ("254:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per line).
func parseIOStat(s string) (read, write uint64) {
	for _, line := range strings.Split(s, "\n") {
		for _, f := range strings.Fields(line) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			switch k {
			case "rbytes":
				read += atou(v)
			case "wbytes":
				write += atou(v)
			}
		}
	}
	return read, write
}

func atou(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// Procs lists the pids of the group's processes and of those of the
// groups below it (a container may make its own), in the order the kernel
// lists them, each group's before its children's.
func (g *Group) Procs() ([]uint32, error) {
	var pids []uint32
	err := filepath.WalkDir(g.path, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != g.path && errors.Is(err, os.ErrNotExist) {
				return nil // a child group removed meanwhile
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(path, "cgroup.procs"))
		if errors.Is(err, os.ErrNotExist) && path != g.path {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the processes of %s: %w", path, err)
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.ParseUint(f, 10, 32); err == nil {
				pids = append(pids, uint32(pid))
			}
		}
		return nil
	})
	return pids, err
}
