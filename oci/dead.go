package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kite-vm/kite/internal/mountinfo"
	"github.com/kite-vm/kite/oci/state"
	"golang.org/x/sys/unix"
)

// CleanupDead removes what a sandbox whose host process has died (killed,
// crashed, or stopped by SIGTERM) left behind, then its state: it kills
// the VM's processes that still run, unmounts what is still mounted under
// the sandbox's directory, removes virtiofsd's lock files, the VM's
// directory and the sandbox's own files. A process is killed only when its
// command line names the VM's directory, so that a recycled pid is never
// taken for QEMU. The caller holds the container's lock.
func CleanupDead(ctx context.Context, h *state.Handle, st state.State) error {
	rec, err := readRecord(h)
	if err != nil {
		return err
	}
	var errs []error
	if err := killLeftovers(ctx, rec.Dir, append([]int{st.QEMUPid}, st.VirtiofsdPids...)); err != nil {
		errs = append(errs, err)
	}
	if err := unmountUnder(h.Dir()); err != nil {
		errs = append(errs, err)
	}
	for _, f := range rec.LockFiles {
		errs = append(errs, removeIfExists(f))
	}
	// QEMU is gone: the functions it held can go back to the host.
	errs = append(errs, releaseDead(ctx, h.ID(), rec))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleaning up container %q: %w", h.ID(), err)
	}
	// Nothing is mounted under the directory any more, so removing it
	// recursively cannot reach into a shared directory.
	if err := os.RemoveAll(rec.Dir); err != nil {
		return fmt.Errorf("cleaning up container %q: %w", h.ID(), err)
	}
	for _, name := range []string{ControlSocketName, recordName, DaemonLogName} {
		errs = append(errs, removeIfExists(filepath.Join(h.Dir(), name)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleaning up container %q: %w", h.ID(), err)
	}
	return h.Remove()
}

// killLeftovers kills, with SIGKILL, the processes among pids and among
// all the host's whose command line names dir, and waits for them to go.
func killLeftovers(ctx context.Context, dir string, pids []int) error {
	ours := ownedProcesses(dir, pids)
	for _, pid := range ours {
		// QEMU and virtiofsd lead their own process groups: the group
		// holds virtiofsd's sandboxed child too.
		if pgid, err := unix.Getpgid(pid); err == nil && pgid == pid {
			unix.Kill(-pid, syscall.SIGKILL)
		}
		unix.Kill(pid, syscall.SIGKILL)
	}
	ctx, cancel := context.WithTimeout(ctx, killWait)
	defer cancel()
	for _, pid := range ours {
		for (state.Proc{}).Alive(pid, 0) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("process %d survived SIGKILL: %w", pid, ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nil
}

// ownedProcesses returns the live processes, among pids and all of
// /proc, whose command line names dir.
func ownedProcesses(dir string, pids []int) []int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	pids = slices.Compact(pids)
	var ours []int
	mark := []byte(dir + "/")
	for _, pid := range pids {
		if pid <= 0 || pid == os.Getpid() || !(state.Proc{}).Alive(pid, 0) {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && bytes.Contains(cmdline, mark) {
			ours = append(ours, pid)
		}
	}
	return ours
}

// unmountUnder detaches every mount under dir, deepest first.
func unmountUnder(dir string) error {
	points, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, mp := range points {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", mp, err))
		}
	}
	return errors.Join(errs...)
}

// mountsUnder lists the mount points below dir in this process's mount
// namespace, deepest first.
func mountsUnder(dir string) ([]string, error) {
	mounts, err := mountinfo.Read("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	prefix := filepath.Clean(dir) + "/"
	var points []string
	for _, m := range mounts {
		if strings.HasPrefix(m.Target, prefix) {
			points = append(points, m.Target)
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	return points, nil
}
