package shim

import (
	"context"
	"fmt"

	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/typeurl/v2"
	"github.com/kite-vm/kite/agent/protocol"
	"google.golang.org/protobuf/types/known/anypb"
)

// Stats returns the task's cgroup usage in the guest as containerd's
// cgroup v2 metrics (io.containerd.cgroups.v2.Metrics), the type the CRI
// plugin and `ctr task metrics` decode: the guest has only the unified
// hierarchy.
func (s *service) Stats(ctx context.Context, r *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	c, err := s.container(r.GetID())
	if err != nil {
		return nil, toStatus(err)
	}
	pd := s.currentPod()
	if pd == nil || c.init.exited() {
		return nil, toStatus(errorf(ErrFailedPrecondition, "task %q is stopped, it has no stats", c.id))
	}
	st, err := pd.vm.Agent.Stats(ctx, c.id)
	if err != nil {
		return nil, toStatus(fmt.Errorf("reading the stats of task %q: %w", c.id, err))
	}
	if len(st) != 1 {
		return nil, toStatus(fmt.Errorf("reading the stats of task %q: the agent returned %d entries", c.id, len(st)))
	}
	a, err := typeurl.MarshalAny(metrics(st[0]))
	if err != nil {
		return nil, toStatus(err)
	}
	return &taskAPI.StatsResponse{Stats: &anypb.Any{TypeUrl: a.GetTypeUrl(), Value: a.GetValue()}}, nil
}

// metrics maps the agent's stats onto the cgroup v2 metrics.
func metrics(st *protocol.ContainerStats) *v2.Metrics {
	return &v2.Metrics{
		Pids: &v2.PidsStat{Current: st.GetPids()},
		CPU: &v2.CPUStat{
			UsageUsec:  st.GetCpuUsageNs() / 1000,
			UserUsec:   st.GetCpuUserNs() / 1000,
			SystemUsec: st.GetCpuSystemNs() / 1000,
		},
		Memory: &v2.MemoryStat{Usage: st.GetMemoryUsageBytes(), UsageLimit: st.GetMemoryLimitBytes()},
		Io:     &v2.IOStat{Usage: []*v2.IOEntry{{Rbytes: st.GetIoReadBytes(), Wbytes: st.GetIoWriteBytes()}}},
	}
}
