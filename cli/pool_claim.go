package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/logging"
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/pool"
)

// startSandboxProcess gets the container its sandbox process: a warm
// process of the pool that takes it (its VM already booted), or a new one
// that boots a VM. It returns once the process reported the sandbox and
// container created, or failed (having undone its work).
func (e *env) startSandboxProcess(ctx context.Context, cfg *configs.Config, store state.Store, h *state.Handle,
	id, bundle, sbDir, netns string, o createOptions, stdio control.Stdio) error {
	log := logging.From(ctx)
	if cfg.Pool.Size > 0 {
		err := newWarmPool(e, cfg, store.Root).claim(ctx, ociClaim{Root: store.Root, ID: id, Bundle: bundle, Dir: sbDir, Netns: netns,
			ConsoleSocket: o.consoleSocket, LogPath: e.daemonLogPath(h.Dir())}, stdio)
		if !errors.Is(err, pool.ErrEmpty) {
			return err
		}
		log.Info("no warm VM takes the container: booting one", logging.KeyContainer, id, "reason", err)
	}
	_, err := control.Spawn(ctx, e.daemonSpec(store, h, id, bundle, sbDir, netns, o, stdio))
	return err
}

// claim hands the create to a warm process, waits for its report, and
// has the pool refilled.
func (p *warmPool) claim(ctx context.Context, c ociClaim, stdio control.Stdio) error {
	payload, err := json.Marshal(c)
	if err != nil {
		return err
	}
	claimed, err := pool.Claim(ctx, p.dir, pool.Request{Role: roleOCI, Digest: p.digest, Payload: payload},
		[]*os.File{stdio.In, stdio.Out, stdio.Err}, logging.From(ctx))
	if err != nil {
		return err
	}
	report, err := claimed.Conn.File()
	claimed.Conn.Close()
	if err != nil {
		return err
	}
	defer report.Close()
	err = control.AwaitReport(ctx, report, claimed.Status.Pid, claimed.Status.PidStart)
	p.refill(ctx)
	return err
}

// refill starts a warm process for the one a claim took, if the pool is
// short; a failure is only logged: the create does not depend on it.
func (p *warmPool) refill(ctx context.Context) {
	if _, err := pool.Fill(ctx, p.dir, p.cfg.Pool.Size, p.budget(), p.spawn); err != nil {
		logging.From(ctx).Warn("refilling the pool", "err", err)
	}
}
