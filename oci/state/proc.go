package state

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// DefaultProcRoot is where procfs is mounted on the host.
const DefaultProcRoot = "/proc"

// Proc reads processes from a procfs mount; tests point it at a fake tree.
type Proc struct {
	// Root is the procfs mount; empty means DefaultProcRoot.
	Root string
}

func (p Proc) root() string {
	if p.Root == "" {
		return DefaultProcRoot
	}
	return p.Root
}

// procStat is what Kite needs from /proc/<pid>/stat.
type procStat struct {
	state     byte   // field 3: R, S, D, Z, X...
	startTime uint64 // field 22: clock ticks after boot
}

func (p Proc) stat(pid int) (procStat, error) {
	path := filepath.Join(p.root(), strconv.Itoa(pid), "stat")
	data, err := os.ReadFile(path)
	if err != nil {
		return procStat{}, err
	}
	// Field 2 is the command name in parentheses, which may itself hold
	// spaces and parentheses: the fields resume after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("%s: no command name", path)
	}
	fields := bytes.Fields(data[i+1:])
	const startTimeIndex = 22 - 3 // fields[0] is field 3
	if len(fields) <= startTimeIndex || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("%s: too few fields", path)
	}
	start, err := strconv.ParseUint(string(fields[startTimeIndex]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("%s: start time: %w", path, err)
	}
	return procStat{state: fields[0][0], startTime: start}, nil
}

// StartTime returns the start time of pid (field 22 of /proc/<pid>/stat),
// which State.PidStartTime records next to the pid.
func (p Proc) StartTime(pid int) (uint64, error) {
	st, err := p.stat(pid)
	if err != nil {
		return 0, fmt.Errorf("reading the start time of pid %d: %w", pid, err)
	}
	return st.startTime, nil
}

// Alive reports whether pid runs and is the process that started at
// startTime, not another that got the pid after it exited. A zombie is
// dead. startTime 0 skips the check.
func (p Proc) Alive(pid int, startTime uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := p.stat(pid)
	if err != nil || st.state == 'Z' || st.state == 'X' {
		return false
	}
	return startTime == 0 || st.startTime == startTime
}
