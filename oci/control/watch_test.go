package control

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// watchHandler is a fakeHandler that serves Watch: exit ends the watched
// process with its code; gone receives the error wait saw when the
// caller went away first.
type watchHandler struct {
	fakeHandler
	exit chan int
	gone chan error
}

func (h *watchHandler) Watch(ctx context.Context, req WatchRequest) (int, func() (WaitExecResponse, error), error) {
	if req.ExecID == "unknown" {
		return 0, nil, errorf(CodeNotFound, "no exec %q", req.ExecID)
	}
	return 42, func() (WaitExecResponse, error) {
		select {
		case code := <-h.exit:
			return WaitExecResponse{ExitCode: code}, nil
		case <-ctx.Done():
			h.gone <- ctx.Err()
			return WaitExecResponse{}, ctx.Err()
		}
	}, nil
}

func TestWatch(t *testing.T) {
	h := &watchHandler{exit: make(chan int, 1), gone: make(chan error, 1)}
	c, _ := serveT(t, h)
	ctx := context.Background()
	w, err := c.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Pid != 42 {
		t.Errorf("watch pid = %d, want 42", w.Pid)
	}
	h.exit <- 137
	if code, err := w.Wait(); err != nil || code != 137 {
		t.Errorf("Wait = %d, %v; want 137", code, err)
	}
	if _, err := c.Watch(ctx, "unknown"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Watch of an unknown exec: %v, want ErrNotFound", err)
	}
}

// A watcher that goes away before the exit is seen by the handler: that
// is how the sandbox process learns that an init proxy was SIGKILLed.
func TestWatchCallerGoneIsSeen(t *testing.T) {
	h := &watchHandler{exit: make(chan int), gone: make(chan error, 1)}
	c, _ := serveT(t, h)
	w, err := c.Watch(context.Background(), "e1")
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	select {
	case err := <-h.gone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the handler saw %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not see the watcher go")
	}
}

// A server that stops under a watch ends it with ErrUnavailable, and a
// handler without the ability refuses it.
func TestWatchServerGone(t *testing.T) {
	h := &watchHandler{exit: make(chan int), gone: make(chan error, 1)}
	c, stop := serveCancelT(t, h)
	w, err := c.Watch(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	stop()
	if _, err := w.Wait(); !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrInternal) {
		t.Errorf("Wait after the server stopped: %v, want ErrUnavailable", err)
	}
	plain, _ := serveT(t, &fakeHandler{})
	if _, err := plain.Watch(context.Background(), ""); !errors.Is(err, ErrFailedPrecondition) {
		t.Errorf("Watch of a handler without it: %v, want ErrFailedPrecondition", err)
	}
}

// serveCancelT is serveT with the function that stops the server.
func serveCancelT(t *testing.T, h Handler) (*Client, func()) {
	t.Helper()
	path := filepath.Join(t.TempDir(), ControlSocketName)
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h) }()
	stop := sync.OnceFunc(func() {
		cancel()
		<-done
	})
	t.Cleanup(stop)
	return NewClient(path), stop
}
