package oci

import (
	"context"
	"fmt"
	"os"
	"syscall"

	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/sandbox"
)

// CleanupDead removes what a sandbox whose host process has died (killed,
// crashed, or stopped by SIGTERM) left behind, then its state: the
// engine's cleanup from its crash record (the VM's processes, mounts, lock
// files, bindings, claims, the VM's directory), then this front end's own
// files. The caller holds the container's lock.
func CleanupDead(ctx context.Context, h *state.Handle, st state.State) error {
	// An init proxy outlives its sandbox process only briefly (it exits
	// when it loses its watch), or not at all; a create that failed half
	// way may have left one waiting to proceed.
	if p := (state.Proc{}); st.InitPid > 0 && p.Alive(st.InitPid, st.InitPidStartTime) {
		syscall.Kill(st.InitPid, syscall.SIGKILL)
	}
	dir := sandboxDirOf(h, st)
	if _, err := os.Stat(dir); err == nil {
		if err := sandbox.Cleanup(ctx, dir); err != nil {
			return fmt.Errorf("cleaning up container %q: %w", h.ID(), err)
		}
	}
	if err := removeFrontEndFiles(h, st); err != nil {
		return fmt.Errorf("cleaning up container %q: %w", h.ID(), err)
	}
	return h.Remove()
}
