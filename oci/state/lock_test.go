package state

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLockContention(t *testing.T) {
	s := Store{Root: t.TempDir()}
	h1, err := s.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := s.Open("c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h1.Lock(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := h1.Lock(t.Context()); err == nil {
		t.Error("a second Lock on the same handle succeeded")
	}

	start := time.Now() // before the deadline is set: it cannot pass earlier
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = h2.Lock(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock of a held lock: %v, want DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond || waited > 2*time.Second {
		t.Errorf("Lock gave up after %v, want about the 100ms timeout", waited)
	}

	// A waiter gets the lock soon after the holder releases it.
	got := make(chan error, 1)
	go func() { got <- h2.Lock(t.Context()) }()
	time.Sleep(30 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("Lock returned %v while the lock was held", err)
	default:
	}
	if err := h1.Unlock(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Lock did not return after the holder unlocked")
	}
	if err := h2.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := h2.Unlock(); err != nil {
		t.Errorf("Unlock of an unlocked handle: %v", err)
	}
}

// A command waiting for the lock of a container that another deletes gets
// ErrNotFound, not the lock of a dead container.
func TestLockWaiterSeesRemove(t *testing.T) {
	s := Store{Root: t.TempDir()}
	h1, err := s.Create("c1")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := s.Open("c1")
	if err != nil {
		t.Fatal(err)
	}
	if err := h1.Lock(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- h2.Lock(t.Context()) }()
	time.Sleep(30 * time.Millisecond)
	if err := h1.Remove(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("waiter's Lock: %v, want ErrNotFound", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("waiter's Lock did not return after Remove")
	}
	if err := h2.Lock(t.Context()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lock after Remove: %v, want ErrNotFound", err)
	}
}
