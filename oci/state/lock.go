package state

import (
	"context"
	"errors"
	"fmt"
	"github.com/kite-vm/kite/internal/flock"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
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
	if err := flock.Wait(ctx, f); err != nil {
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
