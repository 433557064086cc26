package shim

import (
	"context"
	"encoding/json"
	"fmt"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/runtime/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Exec registers a process to start in the running task.
func (s *service) Exec(ctx context.Context, r *taskAPI.ExecProcessRequest) (*emptypb.Empty, error) {
	if err := s.exec(ctx, r); err != nil {
		return nil, toStatus(fmt.Errorf("exec %q in task %q: %w", r.GetExecID(), r.GetID(), err))
	}
	s.events.publish(topicExecAdded, &eventstypes.TaskExecAdded{ContainerID: r.GetID(), ExecID: r.GetExecID()})
	return &emptypb.Empty{}, nil
}

func (s *service) exec(ctx context.Context, r *taskAPI.ExecProcessRequest) error {
	c, err := s.container(r.GetID())
	if err != nil {
		return err
	}
	if r.GetExecID() == "" {
		return errorf(ErrInvalidArgument, "the exec id is empty")
	}
	if err := c.init.require(statusRunning, "exec into it"); err != nil {
		return err
	}
	spec, err := execProcess(r.GetSpec())
	if err != nil {
		return err
	}
	io := stdioPaths{Stdin: r.GetStdin(), Stdout: r.GetStdout(), Stderr: r.GetStderr(), Terminal: r.GetTerminal()}
	spec.Terminal, spec.Stdin = io.Terminal, io.Stdin != ""
	p := newProcess(c.id, r.GetExecID(), io)
	p.spec = spec
	if _, err := c.exec(p.execID); err == nil {
		return errorf(ErrAlreadyExists, "task %q already has exec %q", c.id, p.execID)
	}
	if p.files, err = openStdioCtx(ctx, io); err != nil {
		return err
	}
	if err := c.addExec(p); err != nil {
		p.files.close()
		return err
	}
	return nil
}

// startExec starts a created exec in the guest.
func (s *service) startExec(ctx context.Context, c *container, p *process) (uint32, error) {
	pd := s.currentPod()
	if pd == nil || c.init.exited() {
		return 0, errorf(ErrFailedPrecondition, "task %q is stopped, cannot start exec %q", c.id, p.execID)
	}
	pid, err := pd.vm.Agent.ExecProcess(ctx, p.ref, p.spec)
	if err != nil {
		return 0, fmt.Errorf("starting %s: %w", p.name(), err)
	}
	p.setPid(pid)
	if err := p.move(statusRunning); err != nil {
		return 0, err
	}
	go p.watch(pd.vm.Agent, s.exited)
	s.events.publish(topicExecStarted, &eventstypes.TaskExecStarted{ContainerID: c.id, ExecID: p.execID, Pid: pid})
	return pid, nil
}

// execProcess decodes the exec's OCI process (JSON in the Any, as
// containerd's type registry encodes runtime-spec types) and converts it as
// a bundle's process is converted, so that both obey the same rules.
func execProcess(a *anypb.Any) (*protocol.Process, error) {
	if a == nil {
		return nil, errorf(ErrInvalidArgument, "exec without a process spec")
	}
	var p specs.Process
	if err := json.Unmarshal(a.GetValue(), &p); err != nil {
		return nil, errorf(ErrInvalidArgument, "decoding the exec's process (%s): %v", a.GetTypeUrl(), err)
	}
	spec := &specs.Spec{Version: specs.Version, Process: &p, Root: &specs.Root{Path: "/"}}
	plan, err := oci.Convert(spec, oci.Input{ContainerID: "exec", Bundle: "/"})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return plan.Request.Process, nil
}

// ResizePty sets the size of a process's terminal.
func (s *service) ResizePty(ctx context.Context, r *taskAPI.ResizePtyRequest) (*emptypb.Empty, error) {
	_, p, err := s.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	pd := s.currentPod()
	if pd == nil || p.exited() {
		return nil, toStatus(errorf(ErrFailedPrecondition, "%s is stopped", p.name()))
	}
	size := &protocol.ConsoleSize{Width: r.GetWidth(), Height: r.GetHeight()}
	if err := pd.vm.Agent.TtyWinResize(ctx, p.ref, size); err != nil {
		return nil, toStatus(fmt.Errorf("resizing the terminal of %s: %w", p.name(), err))
	}
	return &emptypb.Empty{}, nil
}

// CloseIO ends a process's stdin once what containerd wrote is read.
func (s *service) CloseIO(_ context.Context, r *taskAPI.CloseIORequest) (*emptypb.Empty, error) {
	_, p, err := s.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	if r.GetStdin() {
		p.closeStdin()
	}
	return &emptypb.Empty{}, nil
}
