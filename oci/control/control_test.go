package control

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeHandler records the requests it gets and answers from its fields.
type fakeHandler struct {
	mu       sync.Mutex
	calls    []string
	kill     KillRequest
	err      error // returned by every method
	waitDone chan struct{}
	waitCtx  chan error // receives the ctx error of a WaitExec that gave up
}

func (f *fakeHandler) record(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	return f.err
}

func (f *fakeHandler) Start(context.Context) error { return f.record("start") }
func (f *fakeHandler) Kill(_ context.Context, r KillRequest) error {
	f.mu.Lock()
	f.kill = r
	f.mu.Unlock()
	return f.record("kill")
}
func (f *fakeHandler) Exec(_ context.Context, r ExecRequest, s Stdio) (ExecResponse, error) {
	defer s.Close()
	if _, err := s.Out.WriteString("out:" + r.ExecID); err != nil {
		return ExecResponse{}, err
	}
	return ExecResponse{Pid: 42}, f.record("exec " + r.Process.Args[0])
}
func (f *fakeHandler) WaitExec(ctx context.Context, r WaitExecRequest) (WaitExecResponse, error) {
	if err := f.record("wait " + r.ExecID); err != nil {
		return WaitExecResponse{}, err
	}
	select {
	case <-f.waitDone:
		return WaitExecResponse{ExitCode: 3}, nil
	case <-ctx.Done():
		f.waitCtx <- ctx.Err()
		return WaitExecResponse{}, ctx.Err()
	}
}
func (f *fakeHandler) Pause(context.Context) error  { return f.record("pause") }
func (f *fakeHandler) Resume(context.Context) error { return f.record("resume") }
func (f *fakeHandler) Ps(context.Context) (PsResponse, error) {
	return PsResponse{Processes: []Process{{Pid: 1}, {ExecID: "e", Pid: 2}}}, f.record("ps")
}
func (f *fakeHandler) Shutdown(_ context.Context, r ShutdownRequest) error {
	if r.Force {
		return f.record("shutdown force")
	}
	return f.record("shutdown")
}

// serveT serves h on a socket in a temp dir; the returned function waits
// for Serve's result.
func serveT(t *testing.T, h Handler) (*Client, func() error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), ControlSocketName)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h) }()
	wait := sync.OnceValue(func() error { return <-done })
	t.Cleanup(func() {
		cancel()
		wait()
	})
	return NewClient(path), wait
}

func TestControlRequests(t *testing.T) {
	h := &fakeHandler{waitDone: make(chan struct{})}
	close(h.waitDone)
	c, _ := serveT(t, h)
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(ctx, syscall.SIGUSR1, true); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	kill := h.kill
	h.mu.Unlock()
	if diff := cmp.Diff(KillRequest{Signal: syscall.SIGUSR1, All: true}, kill); diff != "" {
		t.Errorf("kill request (-want +got):\n%s", diff)
	}
	for _, call := range []func(context.Context) error{c.Pause, c.Resume} {
		if err := call(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := c.Ps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Process{{Pid: 1}, {ExecID: "e", Pid: 2}}, ps); diff != "" {
		t.Errorf("ps (-want +got):\n%s", diff)
	}
	if code, err := c.WaitExec(ctx, "x"); err != nil || code != 3 {
		t.Errorf("WaitExec = %d, %v; want 3", code, err)
	}
	want := []string{"start", "kill", "pause", "resume", "ps", "wait x"}
	if diff := cmp.Diff(want, calls(h)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestControlExecPassesStdio(t *testing.T) {
	h := &fakeHandler{}
	c, _ := serveT(t, h)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pid, err := c.Exec(context.Background(), ExecRequest{ExecID: "e1", Process: &specs.Process{Args: []string{"ls"}}}, os.Stdin, w, os.Stderr)
	w.Close() // the handler has its own copy, which it closes
	if err != nil || pid != 42 {
		t.Fatalf("Exec = %d, %v; want 42", pid, err)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "out:e1" {
		t.Errorf("the passed stdout got %q, %v; want out:e1", got, err)
	}
}

func TestControlErrorsKeepTheirCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{errorf(CodeFailedPrecondition, "container x is running, cannot start"), ErrFailedPrecondition},
		{errorf(CodeNotFound, "no exec"), ErrNotFound},
		{errors.New("disk on fire"), ErrInternal},
	} {
		c, _ := serveT(t, &fakeHandler{err: tc.err})
		err := c.Start(context.Background())
		if !errors.Is(err, tc.want) || err.Error() != tc.err.Error() {
			t.Errorf("Start = %v; want %q matching %v", err, tc.err, tc.want)
		}
	}
}

func TestControlRejectsMalformedRequests(t *testing.T) {
	h := &fakeHandler{}
	c, _ := serveT(t, h)
	ctx := context.Background()
	for name, req := range map[string]Request{
		"none":                     {},
		"two":                      {Start: &StartRequest{}, Pause: &PauseRequest{}},
		"exec without descriptors": {Exec: &ExecRequest{ExecID: "e", Process: &specs.Process{Args: []string{"ls"}}}},
	} {
		if _, err := c.call(ctx, req, nil); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: %v; want ErrInvalidArgument", name, err)
		}
	}
	if _, err := c.call(ctx, Request{Start: &StartRequest{}}, []*os.File{os.Stdin}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("start with a descriptor: %v; want ErrInvalidArgument", err)
	}
	if got := calls(h); len(got) != 0 {
		t.Errorf("the handler was called: %v", got)
	}
}

func TestControlClientGoneCancelsHandler(t *testing.T) {
	h := &fakeHandler{waitDone: make(chan struct{}), waitCtx: make(chan error, 1)}
	c, _ := serveT(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.WaitExec(ctx, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitExec = %v; want the deadline", err)
	}
	select {
	case err := <-h.waitCtx:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("handler ctx ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler was not told that its client went away")
	}
}

func TestControlShutdownEndsServe(t *testing.T) {
	h := &fakeHandler{waitDone: make(chan struct{}), waitCtx: make(chan error, 1)}
	c, wait := serveT(t, h)
	served := make(chan error, 1)
	go func() { served <- wait() }()
	waitErr := make(chan error, 1)
	go func() { _, err := c.WaitExec(context.Background(), ""); waitErr <- err }()
	for len(calls(h)) == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := c.Shutdown(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v after a Shutdown; want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after a Shutdown")
	}
	if err := <-waitErr; err == nil {
		t.Error("a wait in flight at shutdown succeeded")
	}
	if err := c.Start(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Start after shutdown = %v; want ErrUnavailable", err)
	}
}

func calls(h *fakeHandler) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

func TestClientUnavailable(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	if err := c.Start(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Start on no socket = %v; want ErrUnavailable", err)
	}
	// A socket that accepts and closes without answering.
	path := filepath.Join(t.TempDir(), "mute.sock")
	ln, err := net.ListenUnix(network, &net.UnixAddr{Name: path, Net: network})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			conn.Close()
		}
	}()
	if err := NewClient(path).Start(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Start on a mute socket = %v; want ErrUnavailable", err)
	}
}
