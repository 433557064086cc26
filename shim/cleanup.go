package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/kite-vm/kite/internal/mountinfo"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// killedExit is the exit status of a task whose shim died: 128 + SIGKILL,
// as containerd-shim-runc-v2 reports it.
const killedExit = 128 + uint32(syscall.SIGKILL)

// killWait bounds the wait for SIGKILLed processes to go.
const killWait = 10 * time.Second

// cleanupDead is the delete action: containerd runs it when a task's shim
// is gone. It unmounts the task's rootfs and, when the pod's daemon is
// dead too, kills what is left of the VM (QEMU and virtiofsd, only when
// their command line names the VM's directory, so that a recycled pid is
// never taken for QEMU) and removes its files.
func cleanupDead(ctx context.Context, f Flags, runtimeRoot string) (*taskAPI.DeleteResponse, error) {
	bundle := f.Bundle
	if bundle == "" {
		bundle, _ = os.Getwd()
	}
	var errs []error
	if err := unmountAll(filepath.Join(bundle, "rootfs")); err != nil {
		errs = append(errs, err)
	}
	if pid, err := podID(bundle, f.ID); err == nil {
		errs = append(errs, cleanupPod(ctx, newLayout(runtimeRoot, f.Address, f.Namespace, pid)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("cleaning up task %q: %w", f.ID, err)
	}
	return &taskAPI.DeleteResponse{ExitStatus: killedExit, ExitedAt: timestamppb.Now()}, nil
}

func cleanupPod(ctx context.Context, lay layout) error {
	rec, err := readRecord(lay.record())
	if err != nil {
		return err
	}
	if rec.DaemonPid != 0 && rec.DaemonPid != os.Getpid() && alive(rec.DaemonPid) && cmdlineHas(rec.DaemonPid, "containerd-shim-kite-v2") {
		return nil // the daemon serves the pod still
	}
	var errs []error
	if rec.VMDir != "" {
		errs = append(errs, killLeftovers(ctx, rec.VMDir, append([]int{rec.QEMUPid}, rec.VirtiofsdPids...)))
		errs = append(errs, unmountUnder(rec.VMDir))
	}
	for _, l := range rec.LockFiles {
		errs = append(errs, removeIfExists(l))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if rec.VMDir != "" {
		// Nothing is mounted under it any more: removing it recursively
		// cannot reach into a shared directory.
		errs = append(errs, os.RemoveAll(rec.VMDir))
	}
	errs = append(errs, removeIfExists(lay.record()), removeIfExists(lay.socket()))
	return errors.Join(errs...)
}

// killLeftovers SIGKILLs the processes among pids whose command line names
// dir, with their process groups, and waits for them to go.
func killLeftovers(ctx context.Context, dir string, pids []int) error {
	var ours []int
	for _, pid := range pids {
		if pid > 0 && cmdlineHas(pid, dir) {
			ours = append(ours, pid)
		}
	}
	for _, pid := range ours {
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

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, ok := strings.Cut(string(data), ") ")
	return ok && !strings.HasPrefix(after, "Z")
}

func cmdlineHas(pid int, s string) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return err == nil && strings.Contains(string(data), s)
}

// unmountUnder unmounts every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	mounts, err := mountinfo.Read("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var errs []error
	for i := len(mounts) - 1; i >= 0; i-- {
		mp := mounts[i].Target
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
				errs = append(errs, fmt.Errorf("unmounting %s: %w", mp, err))
			}
		}
	}
	return errors.Join(errs...)
}
