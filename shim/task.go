package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/kite-vm/kite/agent/client"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// removeTimeout bounds the agent's wait for a deleted container's
// processes to die.
const removeTimeout = 10 * time.Second

func timeNow() time.Time { return time.Now() }

// Start runs the created task's program, or starts a created exec.
func (s *service) Start(ctx context.Context, r *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	pid, err := s.start(ctx, r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	return &taskAPI.StartResponse{Pid: pid}, nil
}

func (s *service) start(ctx context.Context, id, execID string) (uint32, error) {
	c, p, err := s.process(id, execID)
	if err != nil {
		return 0, err
	}
	if err := p.require(statusCreated, "start"); err != nil {
		return 0, err
	}
	if execID != "" {
		return s.startExec(ctx, c, p)
	}
	pd := s.currentPod()
	if pd == nil {
		return 0, errorf(ErrFailedPrecondition, "task %q has no VM", id)
	}
	began := time.Now()
	if err := pd.vm.Agent.StartContainer(ctx, id); err != nil {
		return 0, fmt.Errorf("starting task %q: %w", id, err)
	}
	if err := p.move(statusRunning); err != nil {
		return 0, err // it exited meanwhile
	}
	_, pid, _ := p.snapshot()
	s.log.Info("task started", "container", id, "took", time.Since(began))
	s.events.publish(topicStart, &eventstypes.TaskStart{ContainerID: id, Pid: pid})
	return pid, nil
}

// Delete removes a stopped exec, or the task with its guest container and
// rootfs mount; the last task's delete stops the VM.
func (s *service) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	c, p, err := s.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	st, pid, _ := p.snapshot()
	if st == statusRunning || st == statusPaused {
		return nil, toStatus(errorf(ErrFailedPrecondition, "%s is %s, cannot delete it", p.name(), st))
	}
	if r.GetExecID() != "" {
		p.stop(0, timeNow()) // a created exec that never ran
		c.removeExec(r.GetExecID())
		_, _, e := p.snapshot()
		return deleteResponse(pid, e), nil
	}
	if err := s.deleteContainer(ctx, c); err != nil {
		return nil, toStatus(err)
	}
	_, _, e := p.snapshot()
	s.events.publish(topicDelete, &eventstypes.TaskDelete{ContainerID: c.id, ID: c.id, Pid: pid,
		ExitStatus: e.code, ExitedAt: timestamppb.New(e.at)})
	return deleteResponse(pid, e), nil
}

func deleteResponse(pid uint32, e exitStatus) *taskAPI.DeleteResponse {
	return &taskAPI.DeleteResponse{Pid: pid, ExitStatus: e.code, ExitedAt: timestamppb.New(e.at)}
}

func (s *service) deleteContainer(ctx context.Context, c *container) error {
	var errs []error
	pd := s.currentPod()
	if pd != nil && !vmDead(pd) {
		err := pd.vm.Agent.RemoveContainer(ctx, c.id, removeTimeout)
		if err != nil && !errors.Is(err, client.ErrNotFound) {
			errs = append(errs, fmt.Errorf("removing the container from the guest: %w", err))
		}
	}
	// A created init that never ran: the agent killed it.
	if c.init.stop(unknownExit, timeNow()) {
		s.exited(c.init)
	}
	if pd != nil && !vmDead(pd) { // a dead VM's Stop took every share down
		errs = append(errs, pd.vm.ReleaseContainer(ctx, c.id))
	}
	if pd != nil && len(c.pci) > 0 {
		errs = append(errs, s.releaseDevices(pd, c))
	}
	if c.rootfs != "" {
		errs = append(errs, unmountAll(c.rootfs))
	}
	s.mu.Lock()
	delete(s.containers, c.id)
	last := len(s.containers) == 0
	if last {
		s.pod = nil
	}
	s.mu.Unlock()
	if last && pd != nil {
		errs = append(errs, pd.stop())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("deleting task %q: %w", c.id, err)
	}
	return nil
}

func vmDead(p *pod) bool {
	select {
	case <-p.vm.Process().Done():
		return true
	default:
		return false
	}
}

// exited publishes a process's exit.
func (s *service) exited(p *process) {
	_, pid, e := p.snapshot()
	id := p.execID
	if id == "" {
		id = p.containerID
	}
	s.events.publish(topicExit, &eventstypes.TaskExit{ContainerID: p.containerID, ID: id, Pid: pid,
		ExitStatus: e.code, ExitedAt: timestamppb.New(e.at)})
}

// Wait blocks until the process exits.
func (s *service) Wait(ctx context.Context, r *taskAPI.WaitRequest) (*taskAPI.WaitResponse, error) {
	_, p, err := s.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	e, err := p.wait(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &taskAPI.WaitResponse{ExitStatus: e.code, ExitedAt: timestamppb.New(e.at)}, nil
}

// State reports a process's status.
func (s *service) State(_ context.Context, r *taskAPI.StateRequest) (*taskAPI.StateResponse, error) {
	c, p, err := s.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	st, pid, e := p.snapshot()
	resp := &taskAPI.StateResponse{ID: r.GetID(), ExecID: r.GetExecID(), Bundle: c.bundle, Pid: pid,
		Status: st.taskStatus(), Stdin: p.stdio.Stdin, Stdout: p.stdio.Stdout, Stderr: p.stdio.Stderr,
		Terminal: p.stdio.Terminal}
	if st == statusStopped {
		resp.ExitStatus, resp.ExitedAt = e.code, timestamppb.New(e.at)
	}
	return resp, nil
}

// Kill signals a process, or every process of the task.
func (s *service) Kill(ctx context.Context, r *taskAPI.KillRequest) (*emptypb.Empty, error) {
	_, p, err := s.process(r.GetID(), r.GetExecID())
	if err != nil {
		return nil, toStatus(err)
	}
	if r.GetSignal() == 0 || r.GetSignal() > 64 {
		return nil, toStatus(errorf(ErrInvalidArgument, "invalid signal %d", r.GetSignal()))
	}
	if p.exited() {
		return nil, toStatus(errorf(ErrNotFound, "%s: process already finished", p.name()))
	}
	pd := s.currentPod()
	if pd == nil {
		return nil, toStatus(errorf(ErrNotFound, "%s: process already finished", p.name()))
	}
	if err := pd.vm.Agent.SignalProcess(ctx, p.ref, syscall.Signal(r.GetSignal()), r.GetAll()); err != nil {
		return nil, toStatus(fmt.Errorf("signalling %s: %w", p.name(), err))
	}
	return &emptypb.Empty{}, nil
}

// Pids lists the task's processes that have not exited, by guest pid.
func (s *service) Pids(_ context.Context, r *taskAPI.PidsRequest) (*taskAPI.PidsResponse, error) {
	c, err := s.container(r.GetID())
	if err != nil {
		return nil, toStatus(err)
	}
	var ps []*tasktypes.ProcessInfo
	for _, p := range c.processes() {
		if st, pid, _ := p.snapshot(); st != statusStopped && pid != 0 {
			ps = append(ps, &tasktypes.ProcessInfo{Pid: pid})
		}
	}
	slices.SortFunc(ps, func(a, b *tasktypes.ProcessInfo) int { return int(a.Pid) - int(b.Pid) })
	return &taskAPI.PidsResponse{Processes: ps}, nil
}

// Pause freezes the task's cgroup in the guest.
func (s *service) Pause(ctx context.Context, r *taskAPI.PauseRequest) (*emptypb.Empty, error) {
	if err := s.freeze(ctx, r.GetID(), statusRunning, statusPaused); err != nil {
		return nil, toStatus(fmt.Errorf("pausing task %q: %w", r.GetID(), err))
	}
	s.events.publish(topicPaused, &eventstypes.TaskPaused{ContainerID: r.GetID()})
	return &emptypb.Empty{}, nil
}

// Resume thaws it.
func (s *service) Resume(ctx context.Context, r *taskAPI.ResumeRequest) (*emptypb.Empty, error) {
	if err := s.freeze(ctx, r.GetID(), statusPaused, statusRunning); err != nil {
		return nil, toStatus(fmt.Errorf("resuming task %q: %w", r.GetID(), err))
	}
	s.events.publish(topicResumed, &eventstypes.TaskResumed{ContainerID: r.GetID()})
	return &emptypb.Empty{}, nil
}

// freeze moves the task between running and paused, in the guest first.
func (s *service) freeze(ctx context.Context, id string, from, to status) error {
	c, err := s.container(id)
	if err != nil {
		return err
	}
	if err := c.init.require(from, "make it "+string(to)); err != nil {
		return err
	}
	pd := s.currentPod()
	if pd == nil {
		return errorf(ErrFailedPrecondition, "task %q has no VM", id)
	}
	if to == statusPaused {
		err = pd.vm.Agent.PauseContainer(ctx, id)
	} else {
		err = pd.vm.Agent.ResumeContainer(ctx, id)
	}
	if err != nil {
		return err
	}
	return c.init.move(to)
}

// Checkpoint is not something a VM runtime offers.
func (s *service) Checkpoint(context.Context, *taskAPI.CheckpointTaskRequest) (*emptypb.Empty, error) {
	return nil, toStatus(errorf(ErrNotImplemented, "checkpointing a task is not supported by Kite (a VM runtime)"))
}

// Connect tells containerd who serves the task: after a containerd
// restart this is the first call on a reloaded shim.
func (s *service) Connect(_ context.Context, r *taskAPI.ConnectRequest) (*taskAPI.ConnectResponse, error) {
	resp := &taskAPI.ConnectResponse{ShimPid: uint32(os.Getpid()), Version: "2"}
	if c, err := s.container(r.GetID()); err == nil {
		_, resp.TaskPid, _ = c.init.snapshot()
	}
	return resp, nil
}

// Shutdown lets the daemon exit once it serves no task.
func (s *service) Shutdown(context.Context, *taskAPI.ShutdownRequest) (*emptypb.Empty, error) {
	s.mu.Lock()
	n := len(s.containers)
	s.mu.Unlock()
	if n == 0 {
		s.finish()
	}
	return &emptypb.Empty{}, nil
}
