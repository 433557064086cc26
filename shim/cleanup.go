package shim

import (
	"context"
	"errors"
	"fmt"
	"github.com/kite-vm/kite/shim/internal/cio"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/kite-vm/kite/sandbox"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// killedExit is the exit status of a task whose shim died: 128 + SIGKILL,
// as containerd-shim-runc-v2 reports it.
const killedExit = 128 + uint32(syscall.SIGKILL)

// cleanupDead is the delete action: containerd runs it when a task's shim
// is gone. It unmounts the task's rootfs and, when the pod's daemon is
// dead too, has the engine undo what the pod left from its crash record
// (sandbox.Cleanup: the VM's processes, mounts, bindings, claims), then
// removes the pod's directory and socket.
func cleanupDead(ctx context.Context, f Flags, runtimeRoot string) (*taskAPI.DeleteResponse, error) {
	bundle := f.Bundle
	if bundle == "" {
		bundle, _ = os.Getwd()
	}
	var errs []error
	if err := cio.UnmountAll(filepath.Join(bundle, "rootfs")); err != nil {
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
	if _, err := os.Stat(lay.dir()); errors.Is(err, fs.ErrNotExist) {
		return removeIfExists(lay.socket())
	}
	err := sandbox.Cleanup(ctx, lay.dir())
	if sandbox.Classify(err) == sandbox.ErrFailedPrecondition {
		return nil // the daemon serves the pod still
	}
	if err != nil {
		return err
	}
	return errors.Join(removeIfExists(lay.dir()), removeIfExists(lay.socket()))
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
