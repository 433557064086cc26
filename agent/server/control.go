package server

import (
	"context"
	"fmt"

	"github.com/kite-vm/kite/agent/protocol"
)

// PauseContainer freezes the container's cgroup.
func (s *Service) PauseContainer(ctx context.Context, req *protocol.PauseContainerRequest) (*protocol.PauseContainerResponse, error) {
	c, err := s.lookup(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if err := c.cg.Freeze(ctx); err != nil {
		return nil, err
	}
	return &protocol.PauseContainerResponse{}, nil
}

// ResumeContainer thaws the container's cgroup.
func (s *Service) ResumeContainer(ctx context.Context, req *protocol.ResumeContainerRequest) (*protocol.ResumeContainerResponse, error) {
	c, err := s.lookup(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if err := c.cg.Thaw(ctx); err != nil {
		return nil, err
	}
	return &protocol.ResumeContainerResponse{}, nil
}

// UpdateContainer changes the container's cgroup limits.
func (s *Service) UpdateContainer(_ context.Context, req *protocol.UpdateContainerRequest) (*protocol.UpdateContainerResponse, error) {
	c, err := s.lookup(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	res := resourcesOf(req.GetResources())
	if err := res.Validate(); err != nil {
		return nil, err
	}
	if dc := req.GetResources().GetDeviceCgroup(); dc != nil {
		if err := c.devices.update(dc); err != nil {
			return nil, fmt.Errorf("updating container %q: %w", c.id, err)
		}
	}
	if err := c.cg.Update(res); err != nil {
		return nil, err
	}
	return &protocol.UpdateContainerResponse{}, nil
}

// Stats reports the cgroup usage of the asked containers, or of all.
func (s *Service) Stats(_ context.Context, req *protocol.StatsRequest) (*protocol.StatsResponse, error) {
	var cs []*ctr
	if ids := req.GetContainerIds(); len(ids) > 0 {
		for _, id := range ids {
			c, err := s.lookup(id)
			if err != nil {
				return nil, err
			}
			cs = append(cs, c)
		}
	} else {
		cs = s.sortedContainers()
	}
	resp := &protocol.StatsResponse{}
	for _, c := range cs {
		st, err := c.cg.Stats()
		if err != nil {
			return nil, err
		}
		pids, err := c.cg.Procs()
		if err != nil {
			return nil, err
		}
		resp.Stats = append(resp.Stats, &protocol.ContainerStats{
			ContainerId: c.id, CpuUsageNs: st.CPUUsageNS, CpuUserNs: st.CPUUserNS, CpuSystemNs: st.CPUSystemNS,
			MemoryUsageBytes: st.MemoryUsage, MemoryLimitBytes: st.MemoryLimit,
			IoReadBytes: st.IOReadBytes, IoWriteBytes: st.IOWriteBytes, Pids: st.Pids, GuestPids: pids,
		})
	}
	return resp, nil
}
