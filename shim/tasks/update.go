package tasks

import (
	"context"
	"encoding/json"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Update applies new cgroup limits to the task in the guest.
func (s *Service) Update(ctx context.Context, r *taskAPI.UpdateTaskRequest) (*emptypb.Empty, error) {
	t, err := s.pod.task(r.GetID())
	if err != nil {
		return nil, toStatus(err)
	}
	a := r.GetResources()
	if a == nil {
		return nil, toStatus(errorf(sandbox.ErrInvalidArgument, "update without resources"))
	}
	var res specs.LinuxResources
	if err := json.Unmarshal(a.GetValue(), &res); err != nil {
		return nil, toStatus(errorf(sandbox.ErrInvalidArgument, "decoding the resources (%s): %v", a.GetTypeUrl(), err))
	}
	limits, err := spec.ConvertResources(&res)
	if err != nil {
		return nil, toStatus(err)
	}
	if err := t.c.Update(ctx, limits); err != nil {
		return nil, toStatus(err)
	}
	return &emptypb.Empty{}, nil
}
