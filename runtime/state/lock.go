package state

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Poll intervals of Lock: short at first, since most holders are quick
// CLI commands, then capped so a long wait stays cheap.
const (
	lockPollMin = time.Millisecond
	lockPollMax = 50 * time.Millisecond
)

// Lock takes the container's exclusive lock (flock on <dir>/lock), waiting
// until ctx is done. A container deleted before the lock is got yields
// ErrNotFound; ctx's end yields an error wrapping ctx.Err().
func (h *Handle) Lock(ctx context.Context) error {
	if h.lock != nil {
		return fmt.Errorf("locking container %q: this handle holds the lock already", h.id)
	}
	f, err := os.OpenFile(h.lockPath(), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return containerErr(h.id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("locking container %q: %w", h.id, err)
	}
	if err := pollFlock(ctx, f); err != nil {
		f.Close()
		return fmt.Errorf("locking container %q: %w", h.id, err)
	}
	// Remove unlinks the lock file while holding it: whoever waited on
	// that file now holds the lock of a deleted container.
	if !sameFile(f, h.lockPath()) {
		f.Close()
		return containerErr(h.id, ErrNotFound)
	}
	h.lock = f
	return nil
}

// pollFlock tries flock without blocking until it succeeds or ctx ends: a
// blocking flock could not be abandoned when ctx ends.
func pollFlock(ctx context.Context, f *os.File) error {
	wait := lockPollMin
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("held by another command: %w", ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, lockPollMax)
	}
}

// sameFile reports whether f is still the file at path.
func sameFile(f *os.File, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Stat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// Unlock releases the lock; it does nothing when the handle does not hold
// it.
func (h *Handle) Unlock() error {
	if h.lock == nil {
		return nil
	}
	f := h.lock
	h.lock = nil
	if err := f.Close(); err != nil { // closing the only descriptor drops the flock
		return fmt.Errorf("unlocking container %q: %w", h.id, err)
	}
	return nil
}
