package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// Client calls a sandbox process over its control socket. It holds no
// connection: each call dials, sends one request and reads its response.
type Client struct {
	path string
}

// NewClient returns a client of the control socket at path.
func NewClient(path string) *Client { return &Client{path: path} }

// Start runs the created container's program.
func (c *Client) Start(ctx context.Context) error {
	_, err := c.call(ctx, Request{Start: &StartRequest{}}, nil)
	return err
}

// Kill signals the container's init process, or every process of it.
func (c *Client) Kill(ctx context.Context, sig syscall.Signal, all bool) error {
	_, err := c.call(ctx, Request{Kill: &KillRequest{Signal: sig, All: all}}, nil)
	return err
}

// KillExec signals the exec execID.
func (c *Client) KillExec(ctx context.Context, execID string, sig syscall.Signal) error {
	_, err := c.call(ctx, Request{Kill: &KillRequest{Signal: sig, ExecID: execID}}, nil)
	return err
}

// Exec starts a process in the container with stdin, stdout and stderr as
// its stdio and returns its guest pid. The sandbox process gets its own
// copies of the three files: the caller still owns and closes its own.
func (c *Client) Exec(ctx context.Context, req ExecRequest, stdin, stdout, stderr *os.File) (int, error) {
	resp, err := c.call(ctx, Request{Exec: &req}, []*os.File{stdin, stdout, stderr})
	if err != nil {
		return 0, err
	}
	if resp.Exec == nil {
		return 0, fmt.Errorf("%w: exec answered without a pid", ErrInternal)
	}
	return resp.Exec.Pid, nil
}

// WaitExec waits, as long as ctx allows, for a process to exit and returns
// its exit code; execID "" names the init process.
func (c *Client) WaitExec(ctx context.Context, execID string) (int, error) {
	resp, err := c.call(ctx, Request{WaitExec: &WaitExecRequest{ExecID: execID}}, nil)
	if err != nil {
		return 0, err
	}
	if resp.WaitExec == nil {
		return 0, fmt.Errorf("%w: wait answered without an exit code", ErrInternal)
	}
	return resp.WaitExec.ExitCode, nil
}

// Pause freezes the container.
func (c *Client) Pause(ctx context.Context) error {
	_, err := c.call(ctx, Request{Pause: &PauseRequest{}}, nil)
	return err
}

// Resume thaws the container.
func (c *Client) Resume(ctx context.Context) error {
	_, err := c.call(ctx, Request{Resume: &ResumeRequest{}}, nil)
	return err
}

// Ps lists the live processes the sandbox process started.
func (c *Client) Ps(ctx context.Context) ([]Process, error) {
	resp, err := c.call(ctx, Request{Ps: &PsRequest{}}, nil)
	if err != nil {
		return nil, err
	}
	if resp.Ps == nil {
		return nil, fmt.Errorf("%w: ps answered without a list", ErrInternal)
	}
	return resp.Ps.Processes, nil
}

// Shutdown stops the VM, removes the sandbox's state and ends the sandbox
// process; it returns once all that is done, the process's exit excepted.
func (c *Client) Shutdown(ctx context.Context, force bool) error {
	_, err := c.call(ctx, Request{Shutdown: &ShutdownRequest{Force: force}}, nil)
	return err
}

// call sends req and reads the response. ctx bounds the whole exchange:
// its end closes the connection, and the sandbox process sees the client
// go away.
func (c *Client) call(ctx context.Context, req Request, files []*os.File) (Response, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, c.path)
	if err != nil {
		if ctx.Err() != nil {
			return Response{}, ctx.Err()
		}
		return Response{}, fmt.Errorf("%w: dialing %s: %v", ErrUnavailable, c.path, err)
	}
	conn := nc.(*net.UnixConn)
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := writeMsg(conn, req, files); err != nil {
		return Response{}, c.connErr(ctx, err)
	}
	var resp Response
	extra, err := readMsg(conn, &resp)
	closeAll(extra)
	if err != nil {
		return Response{}, c.connErr(ctx, err)
	}
	if resp.Error != nil {
		return Response{}, resp.Error
	}
	return resp, nil
}

// connErr reports a broken exchange: ctx's end, or the process going away.
func (c *Client) connErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s closed the connection without answering", ErrUnavailable, c.path)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}
