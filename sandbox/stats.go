package sandbox

import (
	"context"
	"fmt"
)

// Stats are a container's cgroup usage in the guest.
type Stats struct {
	Pids                               uint64
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
	return Stats{
		Pids:       s.GetPids(),
		CPUUsageNs: s.GetCpuUsageNs(), CPUUserNs: s.GetCpuUserNs(), CPUSystemNs: s.GetCpuSystemNs(),
		MemoryUsageBytes: s.GetMemoryUsageBytes(), MemoryLimitBytes: s.GetMemoryLimitBytes(),
		IOReadBytes: s.GetIoReadBytes(), IOWriteBytes: s.GetIoWriteBytes(),
	}, nil
}
