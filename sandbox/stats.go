package sandbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Stats are a container's cgroup usage in the guest.
type Stats struct {
	Pids                               uint64
	GuestPids                          []int // every process's, forked or exec'd
	CPUUsageNs, CPUUserNs, CPUSystemNs uint64
	MemoryUsageBytes, MemoryLimitBytes uint64
	IOReadBytes, IOWriteBytes          uint64
}

// Stats reads the container's cgroup usage in the guest.
func (c *Container) Stats(ctx context.Context) (Stats, error) {
	if c.init.exited() {
		return Stats{}, errorf(ErrFailedPrecondition, "%s is stopped, it has no stats", c.name())
	}
	st, err := c.sb.agent().Stats(ctx, c.id)
	if err != nil {
		return Stats{}, fmt.Errorf("reading the stats of %s: %w", c.name(), err)
	}
	if len(st) != 1 {
		return Stats{}, fmt.Errorf("reading the stats of %s: the agent returned %d entries", c.name(), len(st))
	}
	s := st[0]
	guestPids := make([]int, 0, len(s.GetGuestPids()))
	for _, p := range s.GetGuestPids() {
		guestPids = append(guestPids, int(p))
	}
	return Stats{
		Pids:       s.GetPids(),
		GuestPids:  guestPids,
		CPUUsageNs: s.GetCpuUsageNs(), CPUUserNs: s.GetCpuUserNs(), CPUSystemNs: s.GetCpuSystemNs(),
		MemoryUsageBytes: s.GetMemoryUsageBytes(), MemoryLimitBytes: s.GetMemoryLimitBytes(),
		IOReadBytes: s.GetIoReadBytes(), IOWriteBytes: s.GetIoWriteBytes(),
	}, nil
}

// PsEntry is one live process of a container, by its guest pid.
type PsEntry struct {
	Pid    int
	ExecID string // "" for the init and for children
	Child  bool   // started by the init or an exec, not by the engine
}

// Ps lists the container's live processes, by guest pid: the init, the
// execs, and every process those started (the container's cgroup in the
// guest; a container that is not running has none of those to list).
func (c *Container) Ps(ctx context.Context) ([]PsEntry, error) {
	var ps []PsEntry
	for _, p := range c.Processes() {
		if _, done := p.Exit(); !done && p.Pid() != 0 {
			ps = append(ps, PsEntry{Pid: p.Pid(), ExecID: p.ExecID()})
		}
	}
	st, err := c.Stats(ctx)
	switch {
	case err == nil:
		for _, pid := range st.GuestPids {
			if !slices.ContainsFunc(ps, func(e PsEntry) bool { return e.Pid == pid }) {
				ps = append(ps, PsEntry{Pid: pid, Child: true})
			}
		}
	case !errors.Is(err, ErrFailedPrecondition):
		return nil, err
	}
	slices.SortFunc(ps, func(a, b PsEntry) int { return a.Pid - b.Pid })
	return ps, nil
}
