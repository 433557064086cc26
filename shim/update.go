package shim

import (
	"context"
	"encoding/json"
	"fmt"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/runtime/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Update applies new cgroup limits to the task in the guest.
func (s *service) Update(ctx context.Context, r *taskAPI.UpdateTaskRequest) (*emptypb.Empty, error) {
	c, err := s.container(r.GetID())
	if err != nil {
		return nil, toStatus(err)
	}
	res, err := updateResources(r.GetResources())
	if err != nil {
		return nil, toStatus(err)
	}
	pd := s.currentPod()
	if pd == nil || c.init.exited() {
		return nil, toStatus(errorf(ErrFailedPrecondition, "task %q is stopped, cannot update it", c.id))
	}
	if err := pd.vm.Agent.UpdateContainer(ctx, c.id, res); err != nil {
		return nil, toStatus(fmt.Errorf("updating task %q: %w", c.id, err))
	}
	return &emptypb.Empty{}, nil
}

// updateResources decodes the new limits (linux resources, JSON in the Any)
// and converts them as a bundle's are.
func updateResources(a *anypb.Any) (*protocol.Resources, error) {
	if a == nil {
		return nil, errorf(ErrInvalidArgument, "update without resources")
	}
	var res specs.LinuxResources
	if err := json.Unmarshal(a.GetValue(), &res); err != nil {
		return nil, errorf(ErrInvalidArgument, "decoding the resources (%s): %v", a.GetTypeUrl(), err)
	}
	spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: "/"},
		Process: &specs.Process{Args: []string{"update"}, Cwd: "/"},
		Linux:   &specs.Linux{Resources: &res}}
	plan, err := oci.Convert(spec, oci.Input{ContainerID: "update", Bundle: "/"})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	if plan.Request.Resources == nil {
		return nil, errorf(ErrInvalidArgument, "the update sets no limit the guest applies (cpu shares, quota, period, cpuset, memory, pids)")
	}
	return plan.Request.Resources, nil
}
