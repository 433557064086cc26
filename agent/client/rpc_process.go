package client

import (
	"context"
	"io"
	"syscall"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
)

// ProcessRef names a process in the guest.
type ProcessRef struct {
	// ContainerID is the container the process runs in.
	ContainerID string
	// ExecID is the process's exec id; empty means the init process.
	ExecID string
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	// Code is the exit status as a shell reports it: the exit code, or
	// 128 + the signal number when a signal killed the process.
	Code int
	// Signal is the signal that killed the process, zero if it exited.
	Signal syscall.Signal
	// ExitedAt is when the process ended, by the guest clock.
	ExitedAt time.Time
	// OOMKilled: the guest's OOM killer ended the process, or for a
	// container's init process, killed a process of the container (see
	// protocol.WaitProcessResponse).
	OOMKilled bool
}

// ExecProcess starts proc as p.ExecID in container p.ContainerID and
// returns its guest pid.
func (c *Client) ExecProcess(ctx context.Context, p ProcessRef, proc *protocol.Process) (uint32, error) {
	req := &protocol.ExecProcessRequest{ContainerId: p.ContainerID, ExecId: p.ExecID, Process: proc}
	r, err := call(ctx, c, "ExecProcess", 0, c.agent.ExecProcess, req)
	if err != nil {
		return 0, err
	}
	return r.GetPid(), nil
}

// SignalProcess sends sig to the process, or to every process of its
// container when all is set.
func (c *Client) SignalProcess(ctx context.Context, p ProcessRef, sig syscall.Signal, all bool) error {
	req := &protocol.SignalProcessRequest{
		ContainerId: p.ContainerID, ExecId: p.ExecID, Signal: uint32(sig), All: all,
	}
	_, err := call(ctx, c, "SignalProcess", 0, c.agent.SignalProcess, req)
	return err
}

// WaitProcess blocks until the process exits, as long as ctx allows: it
// gets no default deadline.
func (c *Client) WaitProcess(ctx context.Context, p ProcessRef) (ExitStatus, error) {
	req := &protocol.WaitProcessRequest{ContainerId: p.ContainerID, ExecId: p.ExecID}
	r, err := poll(ctx, "WaitProcess", c.agent.WaitProcess, req)
	if err != nil {
		return ExitStatus{}, err
	}
	st := ExitStatus{Code: int(r.GetExitStatus()), Signal: syscall.Signal(r.GetSignal()), OOMKilled: r.GetOomKilled()}
	if r.GetExitedAt() != nil {
		st.ExitedAt = r.GetExitedAt().AsTime()
	}
	return st, nil
}

// WriteStdin writes data to the process's stdin and returns how many bytes
// the agent wrote.
func (c *Client) WriteStdin(ctx context.Context, p ProcessRef, data []byte) (int, error) {
	req := &protocol.WriteStdinRequest{ContainerId: p.ContainerID, ExecId: p.ExecID, Data: data}
	r, err := call(ctx, c, "WriteStdin", 0, c.agent.WriteStdin, req)
	if err != nil {
		return 0, err
	}
	return int(r.GetLen()), nil
}

// CloseStdin closes the process's stdin.
func (c *Client) CloseStdin(ctx context.Context, p ProcessRef) error {
	req := &protocol.CloseStdinRequest{ContainerId: p.ContainerID, ExecId: p.ExecID}
	_, err := call(ctx, c, "CloseStdin", 0, c.agent.CloseStdin, req)
	return err
}

// ReadStdout returns up to maxBytes (zero: the agent's default) of the
// process's output, blocking until some is available; io.EOF once the
// stream has ended. Like WaitProcess it gets no default deadline.
func (c *Client) ReadStdout(ctx context.Context, p ProcessRef, maxBytes int) ([]byte, error) {
	return c.read(ctx, "ReadStdout", c.agent.ReadStdout, p, maxBytes)
}

// ReadStderr is ReadStdout for stderr.
func (c *Client) ReadStderr(ctx context.Context, p ProcessRef, maxBytes int) ([]byte, error) {
	return c.read(ctx, "ReadStderr", c.agent.ReadStderr, p, maxBytes)
}

func (c *Client) read(ctx context.Context, method string,
	rpc func(context.Context, *protocol.ReadStreamRequest) (*protocol.ReadStreamResponse, error),
	p ProcessRef, maxBytes int) ([]byte, error) {
	req := &protocol.ReadStreamRequest{ContainerId: p.ContainerID, ExecId: p.ExecID, MaxBytes: uint32(maxBytes)}
	r, err := poll(ctx, method, rpc, req)
	if err != nil {
		return nil, err
	}
	if r.GetEof() && len(r.GetData()) == 0 {
		return nil, io.EOF
	}
	return r.GetData(), nil
}

// TtyWinResize sets the size of the process's terminal.
func (c *Client) TtyWinResize(ctx context.Context, p ProcessRef, size *protocol.ConsoleSize) error {
	req := &protocol.TtyWinResizeRequest{ContainerId: p.ContainerID, ExecId: p.ExecID, Size: size}
	_, err := call(ctx, c, "TtyWinResize", 0, c.agent.TtyWinResize, req)
	return err
}
