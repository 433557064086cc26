package oci

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/sandbox"
)

// CleanupDead removes what a sandbox whose host process has died (killed,
// crashed, or stopped by SIGTERM) left behind, then its state: the
// engine's cleanup from its crash record (the VM's processes, mounts, lock
// files, bindings, claims, the VM's directory), then this front end's own
// files. The caller holds the container's lock.
func CleanupDead(ctx context.Context, h *state.Handle, _ state.State) error {
	if err := sandbox.Cleanup(ctx, h.Dir()); err != nil {
		return fmt.Errorf("cleaning up container %q: %w", h.ID(), err)
	}
	var errs []error
	for _, name := range []string{control.ControlSocketName, DaemonLogName} {
		errs = append(errs, removeIfExists(filepath.Join(h.Dir(), name)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cleaning up container %q: %w", h.ID(), err)
	}
	return h.Remove()
}
