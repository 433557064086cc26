package control

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
)

// Stdio is a process's standard input, output and error.
type Stdio struct {
	In, Out, Err *os.File
}

// Close closes the files that are set.
func (s Stdio) Close() { closeAll([]*os.File{s.In, s.Out, s.Err}) }

// Handler serves the control requests. Each method gets a ctx that ends
// when the client goes away or the server stops.
type Handler interface {
	Start(ctx context.Context) error
	Kill(ctx context.Context, req KillRequest) error
	// Exec owns stdio from the call on, whether it fails or not.
	Exec(ctx context.Context, req ExecRequest, stdio Stdio) (ExecResponse, error)
	WaitExec(ctx context.Context, req WaitExecRequest) (WaitExecResponse, error)
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	Ps(ctx context.Context) (PsResponse, error)
	// Shutdown tears the sandbox down; once it succeeds and its response
	// is sent, Serve returns.
	Shutdown(ctx context.Context, req ShutdownRequest) error
}

// Listen creates the control socket at path, accessible to its owner only.
// Closing the listener removes the socket file.
func Listen(path string) (*net.UnixListener, error) {
	ln, err := net.ListenUnix(network, &net.UnixAddr{Name: path, Net: network})
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restricting %s: %w", path, err)
	}
	return ln, nil
}

// Serve answers requests on ln with h until ctx ends or a Shutdown
// succeeds, then closes ln, cancels the requests in flight, waits for their
// handlers and returns: nil after a Shutdown, ctx's error otherwise. The
// Shutdown handler may close ln itself.
func Serve(ctx context.Context, ln *net.UnixListener, h Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	shutdown := make(chan struct{})
	var once sync.Once
	context.AfterFunc(ctx, func() { ln.Close() })
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			// A Shutdown closes the listener itself: let its answer go
			// out, and the others end, before telling why.
			cancel()
			wg.Wait()
			select {
			case <-shutdown:
				return nil
			default:
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("accepting control connections: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if serveConn(ctx, conn, h) {
				once.Do(func() { close(shutdown); cancel() })
			}
		}()
	}
}

// serveConn answers the one request of conn and reports whether it was a
// successful Shutdown.
func serveConn(ctx context.Context, conn *net.UnixConn, h Handler) bool {
	defer conn.Close()
	var req Request
	files, err := readMsg(conn, &req)
	if err != nil {
		writeMsg(conn, Response{Error: ToError(fmt.Errorf("%w: %v", ErrInvalidArgument, err))}, nil)
		return false
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The client sends nothing more: a read returns when it goes away.
	go func() {
		var buf [1]byte
		conn.Read(buf[:])
		cancel()
	}()
	if req.Watch != nil {
		if err := checkRequest(req, files); err != nil {
			closeAll(files)
			writeMsg(conn, Response{Error: ToError(err)}, nil)
			return false
		}
		serveWatch(ctx, conn, h, *req.Watch)
		return false
	}
	resp, err := dispatch(ctx, h, req, files)
	if err != nil {
		resp = Response{Error: ToError(err)}
	}
	// A client that went away misses its answer; the work is done anyway.
	writeMsg(conn, resp, nil)
	return err == nil && req.Shutdown != nil
}

// dispatch calls the handler method of the request's kind. It owns files.
func dispatch(ctx context.Context, h Handler, req Request, files []*os.File) (Response, error) {
	if err := checkRequest(req, files); err != nil {
		closeAll(files)
		return Response{}, err
	}
	switch {
	case req.Start != nil:
		return Response{}, h.Start(ctx)
	case req.Kill != nil:
		return Response{}, h.Kill(ctx, *req.Kill)
	case req.Exec != nil:
		r, err := h.Exec(ctx, *req.Exec, Stdio{In: files[0], Out: files[1], Err: files[2]})
		return Response{Exec: &r}, err
	case req.WaitExec != nil:
		r, err := h.WaitExec(ctx, *req.WaitExec)
		return Response{WaitExec: &r}, err
	case req.Pause != nil:
		return Response{}, h.Pause(ctx)
	case req.Resume != nil:
		return Response{}, h.Resume(ctx)
	case req.Ps != nil:
		r, err := h.Ps(ctx)
		return Response{Ps: &r}, err
	case req.AddInterface != nil, req.RemoveInterface != nil, req.Interfaces != nil:
		return dispatchNetwork(ctx, h, req)
	case req.AddVolume != nil, req.RemoveVolume != nil, req.Volumes != nil:
		return dispatchVolume(ctx, h, req)
	default:
		return Response{}, h.Shutdown(ctx, *req.Shutdown)
	}
}

// checkRequest checks that exactly one kind is set and that descriptors
// come with exec, three of them, and only with exec.
func checkRequest(req Request, files []*os.File) error {
	n := 0
	for _, set := range []bool{req.Start != nil, req.Kill != nil, req.Exec != nil, req.WaitExec != nil,
		req.Pause != nil, req.Resume != nil, req.Ps != nil, req.Shutdown != nil, req.Watch != nil,
		req.AddInterface != nil, req.RemoveInterface != nil, req.Interfaces != nil,
		req.AddVolume != nil, req.RemoveVolume != nil, req.Volumes != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return fmt.Errorf("%w: a request names exactly one operation, this one %d", ErrInvalidArgument, n)
	case req.Exec != nil && len(files) != 3:
		return fmt.Errorf("%w: exec carries 3 descriptors (stdin, stdout, stderr), this one %d", ErrInvalidArgument, len(files))
	case req.Exec == nil && len(files) != 0:
		return fmt.Errorf("%w: only exec carries descriptors", ErrInvalidArgument)
	}
	return nil
}
