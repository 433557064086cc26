package sandbox

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

	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/mountinfo"
	"github.com/kite-vm/kite/netmodels"
	"golang.org/x/sys/unix"
)

// killWait bounds the wait for SIGKILLed processes to go.
const killWait = 10 * time.Second

// Cleanup undoes what a sandbox whose owning process died (killed,
// crashed, stopped by a signal) left, from its crash record in the sandbox
// directory dir: it kills the VM's processes that still run (only those
// whose command line names the VM's directory, so that a recycled pid is
// never taken for QEMU), unmounts what is still mounted under dir, removes
// virtiofsd's lock files, puts the pod netns back (qdiscs, filters, links,
// addresses the endpoints changed), gives passed-through functions back to their
// drivers and their PFs' admin settings for them, drops the sandbox's device claims, and removes the VM directory
// and the record. Files of the front end in dir stay. A sandbox whose owner
// still runs is refused with ErrFailedPrecondition.
func Cleanup(ctx context.Context, dir string) error {
	rec, err := readRecord(dir)
	if err != nil {
		return err
	}
	if ownerAlive(rec.Owner) {
		return errorf(ErrFailedPrecondition, "sandbox %q is still owned by process %d", rec.ID, rec.Owner.PID)
	}
	var errs []error
	errs = append(errs, killLeftovers(ctx, rec.VMDir, rec.Pids), removeCgroups(ctx, rec.Cgroups))
	// QEMU is gone: its taps with it. The pod netns goes back, last change
	// first.
	for i := len(rec.Net) - 1; i >= 0; i-- {
		errs = append(errs, netmodels.UndoHostChange(rec.Net[i]))
	}
	errs = append(errs, unmountUnder(dir))
	for _, f := range rec.LockFiles {
		errs = append(errs, removeIfExists(f))
	}
	// QEMU is gone: the functions it held can go back to the host.
	errs = append(errs, devicemgr.RestoreBindings(orSys(rec.SysfsRoot), rec.Bindings))
	for _, c := range rec.VFs {
		errs = append(errs, c.Revert())
	}
	if rec.AllocDir != "" {
		_, err := devicemgr.NewAllocator(rec.AllocDir).ReleaseSandbox(ctx, rec.ID)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleaning up sandbox %q: %w", rec.ID, err)
	}
	// Nothing is mounted under the directory any more, so removing it
	// recursively cannot reach into a shared directory.
	if err := os.RemoveAll(rec.VMDir); err != nil {
		return fmt.Errorf("cleaning up sandbox %q: %w", rec.ID, err)
	}
	return errors.Join(removeIfExists(Config{Dir: dir}.recordPath()), removeSlot(rec.SlotDir))
}

// removeSlot removes the pool slot directory a warm VM was booted in, once
// its VM directory is gone; "" is none. What the pool put there is the
// pool's to remove first.
func removeSlot(slot string) error {
	if slot == "" {
		return nil
	}
	if err := os.Remove(slot); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing pool slot %s: %w", slot, err)
	}
	return nil
}

// ownerAlive reports whether the recorded owner still runs: the same
// process (pid and start time), not a zombie nobody reaped yet.
func ownerAlive(owner devicemgr.Process) bool {
	if owner.PID == 0 || owner.PID == os.Getpid() || !alive(owner.PID) || exiting(owner.PID) {
		return false
	}
	same, err := owner.Alive(devicemgr.DefaultProcRoot)
	return err == nil && same
}

func orSys(root string) string {
	if root == "" {
		return "/sys"
	}
	return root
}

// killLeftovers kills, with SIGKILL, the processes among pids and among
// all the host's whose command line names dir, with their process groups,
// and waits for them to go.
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
		for alive(pid) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("process %d survived SIGKILL: %w", pid, ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nil
}

// ownedProcesses returns the live processes, among pids and all of /proc,
// whose command line names dir.
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
		if pid <= 0 || pid == os.Getpid() || !alive(pid) {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && bytes.Contains(cmdline, mark) {
			ours = append(ours, pid)
		}
	}
	return ours
}

// pfExiting is the kernel's PF_EXITING process flag (include/linux/sched.h).
const pfExiting = 0x4

// procStat reads pid's state letter and flags from /proc/<pid>/stat; ok is
// false when the process is gone.
func procStat(pid int) (state byte, flags uint64, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 7 {
		return 0, 0, false
	}
	flags, _ = strconv.ParseUint(f[6], 10, 64)
	return f[0][0], flags, true
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != 'Z'
}

// exiting says whether pid is on its way out: killed, its descriptors
// closing, not yet a zombie. containerd runs the shim's delete action as
// soon as a killed daemon's socket closes, which is before the kernel has
// made the daemon a zombie: such an owner owns nothing any more.
func exiting(pid int) bool {
	_, flags, ok := procStat(pid)
	return ok && flags&pfExiting != 0
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) error {
	mounts, err := mountinfo.Read("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	prefix := filepath.Clean(dir) + "/"
	var points []string
	for _, m := range mounts {
		if strings.HasPrefix(m.Target, prefix) {
			points = append(points, m.Target)
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, mp := range points {
		if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", mp, err))
		}
	}
	return errors.Join(errs...)
}
