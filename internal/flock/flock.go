// Package flock takes exclusive advisory locks (flock(2)) that a context
// can abandon: the host's state files (containers, device claims, caches)
// are guarded by them.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Poll bounds: first retry soon (the holder is usually quick), back off to
// pollMax so that a long wait does not spin.
const (
	pollMin = time.Millisecond
	pollMax = 50 * time.Millisecond
)

// Wait takes an exclusive flock on f, trying without blocking until it
// succeeds or ctx ends: a blocking flock could not be abandoned.
func Wait(ctx context.Context, f *os.File) error { return wait(ctx, f, unix.LOCK_EX) }

// wait takes the flock op (LOCK_EX or LOCK_SH) on f as Wait does.
func wait(ctx context.Context, f *os.File, op int) error {
	wait := pollMin
	for {
		err := unix.Flock(int(f.Fd()), op|unix.LOCK_NB)
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
			return fmt.Errorf("held by another process: %w", ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, pollMax)
	}
}

// Path opens (creating it with perm) the lock file at path and takes its
// exclusive flock as Wait does. unlock releases it by closing the file.
func Path(ctx context.Context, path string, perm os.FileMode) (unlock func(), err error) {
	return pathOp(ctx, path, perm, unix.LOCK_EX)
}

// PathShared is Path with a shared flock: any number of holders, none
// while an exclusive one is held.
func PathShared(ctx context.Context, path string, perm os.FileMode) (unlock func(), err error) {
	return pathOp(ctx, path, perm, unix.LOCK_SH)
}

// TryPath takes the exclusive flock of the lock file at path if no one
// holds it, without waiting; ok is false when someone does.
func TryPath(path string, perm os.FileMode) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, perm)
	if err != nil {
		return nil, false, fmt.Errorf("opening lock file %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, true, nil
}

func pathOp(ctx context.Context, path string, perm os.FileMode, op int) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, perm)
	if err != nil {
		return nil, fmt.Errorf("opening lock file %s: %w", path, err)
	}
	if err := wait(ctx, f, op); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
