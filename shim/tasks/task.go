package tasks

import (
	"context"
	"fmt"
	"github.com/kite-vm/kite/shim/internal/cio"
	"os"
	"syscall"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/kite-vm/kite/sandbox"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Start runs the created task's program, or starts a created exec.
func (s *Service) Start(ctx context.Context, r *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	_, p, err := s.pod.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	began := time.Now()
	if err := p.Start(ctx); err != nil {
		return nil, toStatus(err)
	}
	pid := uint32(p.Pid())
	if r.GetExecID() != "" {
		s.events.Publish(cio.TopicExecStarted, &eventstypes.TaskExecStarted{ContainerID: r.GetID(), ExecID: r.GetExecID(), Pid: pid})
	} else {
		s.log.Info("task started", "container", r.GetID(), "took", time.Since(began))
		s.events.Publish(cio.TopicStart, &eventstypes.TaskStart{ContainerID: r.GetID(), Pid: pid})
	}
	return &taskAPI.StartResponse{Pid: pid}, nil
}

// Delete removes a stopped exec, or the task with its guest container and
// rootfs mount; the last task's delete stops the VM.
func (s *Service) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	t, p, err := s.pod.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	pid := uint32(p.Pid())
	if r.GetExecID() != "" {
		e, err := t.c.RemoveExec(r.GetExecID())
		if err != nil {
			return nil, toStatus(err)
		}
		t.mu.Lock()
		delete(t.execIO, r.GetExecID())
		t.mu.Unlock()
		return deleteResponse(pid, e), nil
	}
	if st := p.Status(); st == sandbox.StatusRunning || st == sandbox.StatusPaused {
		return nil, toStatus(errorf(sandbox.ErrFailedPrecondition, "task %s is %s, cannot delete it", r.GetID(), st))
	}
	if err := s.pod.remove(ctx, t); err != nil {
		return nil, toStatus(err)
	}
	e, _ := p.Exit()
	s.events.Publish(cio.TopicDelete, &eventstypes.TaskDelete{ContainerID: r.GetID(), ID: r.GetID(), Pid: pid,
		ExitStatus: uint32(e.Code), ExitedAt: timestamppb.New(e.At)})
	return deleteResponse(pid, e), nil
}

func deleteResponse(pid uint32, e sandbox.Exit) *taskAPI.DeleteResponse {
	return &taskAPI.DeleteResponse{Pid: pid, ExitStatus: uint32(e.Code), ExitedAt: timestamppb.New(e.At)}
}

// Wait blocks until the process exits.
func (s *Service) Wait(ctx context.Context, r *taskAPI.WaitRequest) (*taskAPI.WaitResponse, error) {
	_, p, err := s.pod.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	e, err := p.Wait(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &taskAPI.WaitResponse{ExitStatus: uint32(e.Code), ExitedAt: timestamppb.New(e.At)}, nil
}

// State reports a process's status.
func (s *Service) State(_ context.Context, r *taskAPI.StateRequest) (*taskAPI.StateResponse, error) {
	t, p, err := s.pod.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	io := t.stdioOf(r.GetExecID())
	st := p.Status()
	resp := &taskAPI.StateResponse{ID: r.GetID(), ExecID: r.GetExecID(), Bundle: t.bundle, Pid: uint32(p.Pid()),
		Status: taskStatus(st), Stdin: io.Stdin, Stdout: io.Stdout, Stderr: io.Stderr, Terminal: io.Terminal}
	if e, done := p.Exit(); done {
		resp.ExitStatus, resp.ExitedAt = uint32(e.Code), timestamppb.New(e.At)
	}
	return resp, nil
}

// Kill signals a process, or every process of the task.
func (s *Service) Kill(ctx context.Context, r *taskAPI.KillRequest) (*emptypb.Empty, error) {
	_, p, err := s.pod.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := p.Signal(ctx, syscall.Signal(r.GetSignal()), r.GetAll()); err != nil {
		return nil, toStatus(err)
	}
	return &emptypb.Empty{}, nil
}

// Pids lists the task's processes that have not exited, by guest pid.
func (s *Service) Pids(ctx context.Context, r *taskAPI.PidsRequest) (*taskAPI.PidsResponse, error) {
	t, err := s.pod.task(r.GetID())
	if err != nil {
		return nil, toStatus(err)
	}
	entries, err := t.c.Ps(ctx)
	if err != nil {
		return nil, toStatus(fmt.Errorf("listing the processes of task %q: %w", r.GetID(), err))
	}
	ps := make([]*tasktypes.ProcessInfo, 0, len(entries))
	for _, e := range entries {
		ps = append(ps, &tasktypes.ProcessInfo{Pid: uint32(e.Pid)})
	}
	return &taskAPI.PidsResponse{Processes: ps}, nil
}

// Pause freezes the task's cgroup in the guest.
func (s *Service) Pause(ctx context.Context, r *taskAPI.PauseRequest) (*emptypb.Empty, error) {
	t, err := s.pod.task(r.GetID())
	if err == nil {
		err = t.c.Pause(ctx)
	}
	if err != nil {
		return nil, toStatus(fmt.Errorf("pausing task %q: %w", r.GetID(), err))
	}
	s.events.Publish(cio.TopicPaused, &eventstypes.TaskPaused{ContainerID: r.GetID()})
	return &emptypb.Empty{}, nil
}

// Resume thaws it.
func (s *Service) Resume(ctx context.Context, r *taskAPI.ResumeRequest) (*emptypb.Empty, error) {
	t, err := s.pod.task(r.GetID())
	if err == nil {
		err = t.c.Resume(ctx)
	}
	if err != nil {
		return nil, toStatus(fmt.Errorf("resuming task %q: %w", r.GetID(), err))
	}
	s.events.Publish(cio.TopicResumed, &eventstypes.TaskResumed{ContainerID: r.GetID()})
	return &emptypb.Empty{}, nil
}

// Checkpoint is not something a VM runtime offers.
func (s *Service) Checkpoint(context.Context, *taskAPI.CheckpointTaskRequest) (*emptypb.Empty, error) {
	return nil, toStatus(fmt.Errorf("%w: checkpointing a task is not supported by Kite (a VM runtime)", errNotImplemented))
}

// Connect tells containerd who serves the task: after a containerd
// restart this is the first call on a reloaded shim.
func (s *Service) Connect(_ context.Context, r *taskAPI.ConnectRequest) (*taskAPI.ConnectResponse, error) {
	resp := &taskAPI.ConnectResponse{ShimPid: uint32(os.Getpid()), Version: "2"}
	if t, err := s.pod.task(r.GetID()); err == nil {
		resp.TaskPid = uint32(t.c.Init().Pid())
	}
	return resp, nil
}

// Shutdown lets the daemon exit once it serves no task.
func (s *Service) Shutdown(context.Context, *taskAPI.ShutdownRequest) (*emptypb.Empty, error) {
	if s.pod.count() == 0 {
		s.finish()
	}
	return &emptypb.Empty{}, nil
}
