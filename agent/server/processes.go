package server

import (
	"context"
	"fmt"
	"syscall"

	"github.com/kite-vm/kite/agent/protocol"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ExecProcess starts a process in a running container.
func (s *Service) ExecProcess(ctx context.Context, req *protocol.ExecProcessRequest) (*protocol.ExecProcessResponse, error) {
	c, err := s.lookup(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	if err := checkID("exec", req.GetExecId()); err != nil {
		return nil, err
	}
	if req.GetExecId() == c.initID {
		return nil, fmt.Errorf("%w: exec %q is the init process's id", ErrExists, req.GetExecId())
	}
	spec, err := processSpec(req.GetProcess())
	if err != nil {
		return nil, err
	}
	oom, err := watchOOM(c.cg, false)
	if err != nil {
		return nil, err
	}
	p, err := c.c.Exec(ctx, req.GetExecId(), spec)
	if err != nil {
		return nil, err
	}
	pr := newProc(req.GetExecId(), p, oom)
	c.mu.Lock()
	if old, ok := c.procs[pr.id]; ok {
		old.discard() // the host reuses the id of an exited exec
	}
	c.procs[pr.id] = pr
	c.mu.Unlock()
	return &protocol.ExecProcessResponse{Pid: uint32(p.Pid())}, nil
}

// SignalProcess signals one process, or every process of the container.
func (s *Service) SignalProcess(_ context.Context, req *protocol.SignalProcessRequest) (*protocol.SignalProcessResponse, error) {
	c, err := s.lookup(req.GetContainerId())
	if err != nil {
		return nil, err
	}
	sig := req.GetSignal()
	if sig == 0 || sig > 64 {
		return nil, fmt.Errorf("%w: signal %d", ErrInvalid, sig)
	}
	if req.GetAll() {
		if err := c.c.SignalAll(syscall.Signal(sig)); err != nil {
			return nil, err
		}
		return &protocol.SignalProcessResponse{}, nil
	}
	pr, err := c.proc(req.GetExecId())
	if err != nil {
		return nil, err
	}
	if err := pr.p.Signal(syscall.Signal(sig)); err != nil {
		return nil, err
	}
	return &protocol.SignalProcessResponse{}, nil
}

// WaitProcess blocks until the process exits and returns how it ended.
func (s *Service) WaitProcess(ctx context.Context, req *protocol.WaitProcessRequest) (*protocol.WaitProcessResponse, error) {
	c, pr, err := s.process(req.GetContainerId(), req.GetExecId())
	if err != nil {
		return nil, err
	}
	exit, err := pr.p.Wait(ctx)
	if err != nil {
		return nil, err
	}
	select {
	case <-pr.exitNoted:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	pr.mu.Lock()
	pr.waited = true
	pr.mu.Unlock()
	c.noteCollected(pr)
	return &protocol.WaitProcessResponse{
		ExitStatus: int32(exit.Status),
		Signal:     uint32(exit.Signal),
		ExitedAt:   timestamppb.New(exit.At),
		OomKilled:  pr.oomKilled,
	}, nil
}

// process finds a process of a usable container.
func (s *Service) process(containerID, execID string) (*ctr, *proc, error) {
	c, err := s.lookup(containerID)
	if err != nil {
		return nil, nil, err
	}
	if execID != "" {
		if err := checkID("exec", execID); err != nil {
			return nil, nil, err
		}
	}
	pr, err := c.proc(execID)
	return c, pr, err
}
