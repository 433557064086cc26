package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/kite-vm/kite/shim/internal/cio"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Exec registers a process to start in the running task.
func (s *Service) Exec(ctx context.Context, r *taskAPI.ExecProcessRequest) (*emptypb.Empty, error) {
	if err := s.exec(ctx, r); err != nil {
		return nil, toStatus(fmt.Errorf("exec %q in task %q: %w", r.GetExecID(), r.GetID(), err))
	}
	s.events.Publish(cio.TopicExecAdded, &eventstypes.TaskExecAdded{ContainerID: r.GetID(), ExecID: r.GetExecID()})
	return &emptypb.Empty{}, nil
}

func (s *Service) exec(ctx context.Context, r *taskAPI.ExecProcessRequest) error {
	t, err := s.pod.task(r.GetID())
	if err != nil {
		return err
	}
	if _, err := t.c.Exec(r.GetExecID()); err == nil {
		return errorf(sandbox.ErrAlreadyExists, "task %q already has exec %q", r.GetID(), r.GetExecID())
	}
	if st := t.c.Init().Status(); st != sandbox.StatusRunning {
		return errorf(sandbox.ErrFailedPrecondition, "task %q is %s, cannot exec into it", r.GetID(), st)
	}
	proc, err := execProcess(r.GetSpec())
	if err != nil {
		return err
	}
	paths := cio.Paths{Stdin: r.GetStdin(), Stdout: r.GetStdout(), Stderr: r.GetStderr(), Terminal: r.GetTerminal()}
	pio, err := openIO(ctx, paths, nil)
	if err != nil {
		return err
	}
	if _, err := t.c.AddExec(r.GetExecID(), proc, pio); err != nil {
		pio.Close()
		return err
	}
	t.mu.Lock()
	t.execIO[r.GetExecID()] = paths
	t.mu.Unlock()
	return nil
}

// execProcess decodes the exec's OCI process (JSON in the Any, as
// containerd's type registry encodes runtime-spec types) and converts it as
// a bundle's process is converted.
func execProcess(a *anypb.Any) (*spec.Process, error) {
	if a == nil {
		return nil, errorf(sandbox.ErrInvalidArgument, "exec without a process spec")
	}
	var p specs.Process
	if err := json.Unmarshal(a.GetValue(), &p); err != nil {
		return nil, errorf(sandbox.ErrInvalidArgument, "decoding the exec's process (%s): %v", a.GetTypeUrl(), err)
	}
	return spec.ConvertProcess(&p)
}

// ResizePty sets the size of a process's terminal.
func (s *Service) ResizePty(ctx context.Context, r *taskAPI.ResizePtyRequest) (*emptypb.Empty, error) {
	_, p, err := s.pod.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	size := spec.ConsoleSize{Width: uint16(r.GetWidth()), Height: uint16(r.GetHeight())}
	if err := p.ResizeTerminal(ctx, size); err != nil {
		return nil, toStatus(err)
	}
	return &emptypb.Empty{}, nil
}

// CloseIO ends a process's stdin once what containerd wrote is read.
func (s *Service) CloseIO(ctx context.Context, r *taskAPI.CloseIORequest) (*emptypb.Empty, error) {
	_, p, err := s.pod.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	if r.GetStdin() {
		if err := p.CloseStdin(ctx); err != nil {
			return nil, toStatus(err)
		}
	}
	return &emptypb.Empty{}, nil
}
