package flock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// A second holder waits until the first lets go, and gives up with ctx.
func TestPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Path(t.Context(), path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := Path(ctx, path, 0o600); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held = %v, want DeadlineExceeded", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := Path(t.Context(), path, 0o600)
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	if err := <-got; err != nil {
		t.Errorf("lock after release: %v", err)
	}
	if _, err := Path(t.Context(), filepath.Join(t.TempDir(), "no", "dir"), 0o600); err == nil {
		t.Error("a lock file in a missing directory was taken")
	}
}

// Shared holders coexist and keep out an exclusive one; TryPath never
// waits.
func TestPathShared(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	u1, err := PathShared(t.Context(), path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := PathShared(t.Context(), path, 0o600)
	if err != nil {
		t.Fatalf("second shared holder: %v", err)
	}
	if _, ok, err := TryPath(path, 0o600); ok || err != nil {
		t.Fatalf("TryPath while shared holders = %v, %v; want not taken", ok, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := Path(ctx, path, 0o600); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("exclusive lock while shared = %v, want DeadlineExceeded", err)
	}
	u1()
	u2()
	unlock, ok, err := TryPath(path, 0o600)
	if !ok || err != nil {
		t.Fatalf("TryPath once free = %v, %v", ok, err)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := PathShared(ctx, path, 0o600); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shared lock while exclusive = %v, want DeadlineExceeded", err)
	}
	unlock()
}
