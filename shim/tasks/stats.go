package tasks

import (
	"context"

	v2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/typeurl/v2"
	"github.com/kite-vm/kite/sandbox"
	"google.golang.org/protobuf/types/known/anypb"
)

// Stats returns the task's cgroup usage as containerd's cgroup v2 metrics
// (io.containerd.cgroups.v2.Metrics), the type the CRI plugin and `ctr
// task metrics` decode: a container's from its cgroup in the guest (which
// has only the unified hierarchy); the pod sandbox (pause) container's
// from the pod's host cgroup, which holds the whole VM, when the pod has
// one.
func (s *Service) Stats(ctx context.Context, r *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	t, err := s.pod.task(r.GetID())
	if err != nil {
		return nil, toStatus(err)
	}
	m, err := s.metricsOf(ctx, t)
	if err != nil {
		return nil, toStatus(err)
	}
	a, err := typeurl.MarshalAny(m)
	if err != nil {
		return nil, toStatus(err)
	}
	return &taskAPI.StatsResponse{Stats: &anypb.Any{TypeUrl: a.GetTypeUrl(), Value: a.GetValue()}}, nil
}

func (s *Service) metricsOf(ctx context.Context, t *task) (*v2.Metrics, error) {
	if sb := s.pod.current(); sb != nil && t.c.Spec().Annotations[annotationContainerType] == containerTypeSandbox {
		if hs, err := sb.HostStats(); err == nil {
			return hostMetrics(hs), nil
		}
	}
	st, err := t.c.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return metrics(st), nil
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

// hostMetrics maps the sandbox's host cgroup usage onto them, the working
// set as inactive_file's complement, as kubelet reads it back.
func hostMetrics(hs sandbox.HostStats) *v2.Metrics {
	return &v2.Metrics{
		Pids: &v2.PidsStat{Current: hs.Pids},
		CPU: &v2.CPUStat{
			UsageUsec:  hs.CPUUsageNs / 1000,
			UserUsec:   hs.CPUUserNs / 1000,
			SystemUsec: hs.CPUSystemNs / 1000,
		},
		Memory: &v2.MemoryStat{Usage: hs.MemoryUsageBytes, UsageLimit: hs.MemoryLimitBytes,
			InactiveFile: hs.MemoryUsageBytes - hs.MemoryWorkingSetBytes},
	}
}
