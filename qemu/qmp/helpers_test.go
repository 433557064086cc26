package qmp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

// start connects a client to a fake server running script.
func start(t *testing.T, script ...qmptest.Step) (*qmp.Client, *qmptest.Server) {
	t.Helper()
	s := qmptest.NewServer(t, script...)
	c, err := qmp.New(testContext(t), s.Client())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, s
}

// testContext bounds a test's calls so that a bug shows as a failure, not a
// hung test binary.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wantClosedWithin runs call and checks it fails with ErrClosed within d.
func wantClosedWithin(t *testing.T, d time.Duration, call func() error) {
	t.Helper()
	begin := time.Now()
	err := call()
	if !errors.Is(err, qmp.ErrClosed) {
		t.Fatalf("error = %v, want one wrapping ErrClosed", err)
	}
	if took := time.Since(begin); took > d {
		t.Errorf("failing took %v, want under %v", took, d)
	}
}

// wantQMPError checks err is a *qmp.Error of class for command.
func wantQMPError(t *testing.T, err error, command, class string) {
	t.Helper()
	var qe *qmp.Error
	if !errors.As(err, &qe) {
		t.Fatalf("error = %v, want a *qmp.Error", err)
	}
	if qe.Command != command || qe.Class != class {
		t.Errorf("error = %+v, want command %q class %q", qe, command, class)
	}
}

// received marks a step so a test can tell its command reached the server:
// the fake emits RECEIVED as the command arrives.
func received(s qmptest.Step) qmptest.Step { return s.EventBefore("RECEIVED", "") }

// goPending runs calls in goroutines and returns once the server has
// received all their commands (steps marked with received), so that the
// calls are surely pending.
func goPending(t *testing.T, c *qmp.Client, calls ...func() error) <-chan error {
	t.Helper()
	arrivals, cancel := c.Subscribe(len(calls), "RECEIVED")
	defer cancel()
	errs := make(chan error, len(calls))
	for _, call := range calls {
		go func() { errs <- call() }()
	}
	for range calls {
		select {
		case <-arrivals:
		case <-time.After(10 * time.Second):
			t.Fatal("the server did not receive the pending calls' commands")
		}
	}
	return errs
}
