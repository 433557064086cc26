package tasks

import (
	"context"

	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/typeurl/v2"
	"github.com/kite-vm/kite/sandbox"
	"google.golang.org/protobuf/types/known/anypb"
)

// Stats returns the task's cgroup usage in the guest as containerd's
// cgroup v2 metrics (io.containerd.cgroups.v2.Metrics), the type the CRI
// plugin and `ctr task metrics` decode: the guest has only the unified
// hierarchy.
func (s *Service) Stats(ctx context.Context, r *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	t, err := s.pod.task(r.GetID())
	if err != nil {
		return nil, toStatus(err)
	}
	st, err := t.c.Stats(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	a, err := typeurl.MarshalAny(metrics(st))
	if err != nil {
		return nil, toStatus(err)
	}
	return &taskAPI.StatsResponse{Stats: &anypb.Any{TypeUrl: a.GetTypeUrl(), Value: a.GetValue()}}, nil
}

// metrics maps the engine's stats onto the cgroup v2 metrics.
func metrics(st sandbox.Stats) *v2.Metrics {
	return &v2.Metrics{
		Pids: &v2.PidsStat{Current: st.Pids},
		CPU: &v2.CPUStat{
			UsageUsec:  st.CPUUsageNs / 1000,
			UserUsec:   st.CPUUserNs / 1000,
			SystemUsec: st.CPUSystemNs / 1000,
		},
		Memory: &v2.MemoryStat{Usage: st.MemoryUsageBytes, UsageLimit: st.MemoryLimitBytes},
		Io:     &v2.IOStat{Usage: []*v2.IOEntry{{Rbytes: st.IOReadBytes, Wbytes: st.IOWriteBytes}}},
	}
}
