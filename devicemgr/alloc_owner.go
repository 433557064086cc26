package devicemgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultProcRoot is where the kernel mounts procfs.
const DefaultProcRoot = "/proc"

// Process identifies a running process across PID reuse: its PID and its
// start time (clock ticks after boot, field 22 of /proc/<pid>/stat).
type Process struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
}

// ProcessOf reads the identity of the running process pid under procRoot.
func ProcessOf(procRoot string, pid int) (Process, error) {
	path := filepath.Join(procRoot, strconv.Itoa(pid), "stat")
	b, err := os.ReadFile(path)
	if err != nil {
		return Process{}, fmt.Errorf("reading process %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses itself: count fields after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return Process{}, fmt.Errorf("%w: %s has no command field", ErrMalformed, path)
	}
	fields := strings.Fields(string(b[i+1:]))
	const startTimeField = 22 - 3 // fields 1 and 2 are before the ')'
	if len(fields) <= startTimeField {
		return Process{}, fmt.Errorf("%w: %s has %d fields", ErrMalformed, path, len(fields)+2)
	}
	st, err := strconv.ParseUint(fields[startTimeField], 10, 64)
	if err != nil {
		return Process{}, fmt.Errorf("%w: %s start time %q", ErrMalformed, path, fields[startTimeField])
	}
	return Process{PID: pid, StartTime: st}, nil
}

// alive reports whether p still runs (the same process, not a reuse of its
// PID). A zero Process is never stale: nothing was recorded to check.
func (p Process) alive(procRoot string) (bool, error) {
	if p.PID == 0 {
		return true, nil
	}
	now, err := ProcessOf(procRoot, p.PID)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return now.StartTime == p.StartTime, nil
}

// Stale returns the records whose owning process is gone (or its PID now
// names another process): devices a crashed sandbox left allocated, for the
// caller to restore to the host and Release.
func (a *Allocator) Stale(ctx context.Context, procRoot string) ([]Record, error) {
	recs, err := a.Records(ctx)
	if err != nil {
		return nil, err
	}
	var stale []Record
	for _, r := range recs {
		ok, err := r.Process.alive(procRoot)
		if err != nil {
			return nil, fmt.Errorf("checking owner of %s (sandbox %s): %w", r.BDF, r.Sandbox, err)
		}
		if !ok {
			stale = append(stale, r)
		}
	}
	return stale, nil
}

// Alive reports whether p still runs: the same process, not a reuse of its
// PID. A zero Process counts as alive: nothing was recorded to check.
func (p Process) Alive(procRoot string) (bool, error) { return p.alive(procRoot) }
