package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
)

// WatchRequest makes the caller the host process that stands for one of
// the container's processes (the init proxy of package oci): its first
// answer says the watch holds, its second how the process ended. A caller
// that goes away before the second answer is taken for killed (SIGKILL
// is the only way to end it that it cannot forward): the process is then
// killed too, as a process whose pid got SIGKILL would be.
type WatchRequest struct {
	// ExecID names an exec; empty names the container's init process.
	ExecID string `json:"execID,omitempty"`
}

// WatchResponse is the first answer of a Watch: the watch holds.
type WatchResponse struct {
	// Pid is the process's pid in the guest (0 for an init not yet
	// started).
	Pid int `json:"pid"`
}

// WatchHandler serves Watch, an ability the sandbox process has and a
// Handler may lack.
type WatchHandler interface {
	// Watch checks that the process can be watched and returns its guest
	// pid and wait, which blocks until the process has exited and its
	// exit is recorded, or until ctx ends (the caller went away, or the
	// server stops): the handler then kills the process if it still runs.
	Watch(ctx context.Context, req WatchRequest) (pid int, wait func() (WaitExecResponse, error), err error)
}

// serveWatch answers a Watch: twice on success (the watch, then the exit),
// once with the error otherwise.
func serveWatch(ctx context.Context, conn *net.UnixConn, h Handler, req WatchRequest) {
	wh, ok := h.(WatchHandler)
	if !ok {
		writeMsg(conn, Response{Error: errorf(CodeFailedPrecondition, "this sandbox process does not watch processes")}, nil)
		return
	}
	pid, wait, err := wh.Watch(ctx, req)
	if err != nil {
		writeMsg(conn, Response{Error: ToError(err)}, nil)
		return
	}
	if err := writeMsg(conn, Response{Watch: &WatchResponse{Pid: pid}}, nil); err != nil {
		// The caller cannot have seen the watch hold: wait still applies
		// (it went away, so the process is killed).
		wait()
		return
	}
	r, err := wait()
	if err != nil {
		writeMsg(conn, Response{Error: ToError(err)}, nil)
		return
	}
	writeMsg(conn, Response{WaitExec: &r}, nil)
}

// Watch is a watch that holds: the caller stands for the process until
// Wait returns.
type Watch struct {
	conn *net.UnixConn
	// Pid is the process's guest pid when the watch began.
	Pid int
}

// Watch asks the sandbox process to watch a process (execID "" for the
// init) and returns once the watch holds. The caller keeps the Watch, and
// so its connection, open for as long as it stands for the process:
// closing it before Wait has returned kills the process.
func (c *Client) Watch(ctx context.Context, execID string) (*Watch, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, c.path)
	if err != nil {
		return nil, fmt.Errorf("%w: dialing %s: %v", ErrUnavailable, c.path, err)
	}
	conn := nc.(*net.UnixConn)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := writeMsg(conn, Request{Watch: &WatchRequest{ExecID: execID}}, nil); err != nil {
		conn.Close()
		return nil, c.connErr(ctx, err)
	}
	var resp Response
	extra, err := readMsg(conn, &resp)
	closeAll(extra)
	switch {
	case err != nil:
		conn.Close()
		return nil, c.connErr(ctx, err)
	case resp.Error != nil:
		conn.Close()
		return nil, resp.Error
	case resp.Watch == nil:
		conn.Close()
		return nil, fmt.Errorf("%w: watch answered without holding", ErrInternal)
	}
	if !stop() {
		conn.Close()
		return nil, ctx.Err()
	}
	return &Watch{conn: conn, Pid: resp.Watch.Pid}, nil
}

// Wait blocks until the process exits and returns its exit code (128+N
// for a process killed by signal N). The sandbox process going away
// first is ErrUnavailable: the container died with it.
func (w *Watch) Wait() (int, error) {
	var resp Response
	extra, err := readMsg(w.conn, &resp)
	closeAll(extra)
	switch {
	case errors.Is(err, io.EOF):
		return 0, fmt.Errorf("%w: the sandbox process went away", ErrUnavailable)
	case err != nil:
		return 0, fmt.Errorf("%w: %v", ErrUnavailable, err)
	case resp.Error != nil:
		return 0, resp.Error
	case resp.WaitExec == nil:
		return 0, fmt.Errorf("%w: watch ended without an exit code", ErrInternal)
	}
	return resp.WaitExec.ExitCode, nil
}

// Close ends the watch: before Wait has returned, this kills the process.
func (w *Watch) Close() error { return w.conn.Close() }
