package hostcgroup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// removeWait bounds the wait for the processes killed in a cgroup to go
// and for the kernel to let the cgroup be removed.
const removeWait = 10 * time.Second

// Remove removes a sandbox's cgroups, the directories at paths (one per
// hierarchy; one already gone is done): it kills with SIGKILL whatever
// still runs in them (every process in a sandbox's cgroup is the
// sandbox's), waits for it to go, and removes them, cgroups made below
// them first. The calling process still being in one is an error: it must
// Leave first.
func Remove(ctx context.Context, paths []string) error {
	ctx, cancel := context.WithTimeout(ctx, removeWait)
	defer cancel()
	var errs []error
	for _, p := range paths {
		errs = append(errs, removeTree(ctx, p))
	}
	return errors.Join(errs...)
}

// removeEmpty undoes a Create that failed before anything joined.
func removeEmpty(paths []string) error { return Remove(context.Background(), paths) }

func removeTree(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing cgroup %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := removeTree(ctx, filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for {
		pids, err := procs(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("removing cgroup %s: %w", dir, err)
		}
		if slices.Contains(pids, os.Getpid()) {
			return fmt.Errorf("%w: this process (%d) is still in cgroup %s", ErrBusy, os.Getpid(), dir)
		}
		for _, pid := range pids {
			unix.Kill(pid, syscall.SIGKILL)
		}
		if len(pids) == 0 {
			err := unix.Rmdir(dir)
			if err == nil || errors.Is(err, unix.ENOENT) {
				return nil
			}
			if !errors.Is(err, unix.EBUSY) {
				return fmt.Errorf("removing cgroup %s: %w", dir, err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("removing cgroup %s: processes %v or the kernel still hold it: %w", dir, pids, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
