package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/pool"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
)

// RoleShim is the claim of the shim's start: the warm process becomes the
// pod's shim daemon, serving the task API on the listener it is handed.
const RoleShim = "shim"

// claimTimeout bounds a claim: containerd waits for start.
const claimTimeout = 15 * time.Second

// Claim is what start hands a warm process: the daemon's flags and the
// bundle of the pod's first container; the listener goes as the claim's
// one file.
type Claim struct {
	Flags  Flags  `json:"flags"`
	Bundle string `json:"bundle"`
}

// FirstContainer is the pod's first container as the daemon's first Create
// will convert it: what a warm process checks the pod against its VM with.
func (c Claim) FirstContainer() (*spec.Container, error) {
	raw, err := spec.Load(c.Bundle)
	if err != nil {
		return nil, err
	}
	return spec.Convert(raw, spec.Input{ContainerID: c.Flags.ID, Bundle: c.Bundle})
}

// claimWarm hands the pod to a warm process of the pool (pool.ErrEmpty when
// none takes it) and has the pool refilled.
func claimWarm(f Flags, cfg *configs.Config, bundle string, listener *os.File) error {
	payload, err := json.Marshal(Claim{Flags: f, Bundle: bundle})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), claimTimeout)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	dir := cfg.Pool.DirUnder(cfg.Runtime.Root)
	c, err := pool.Claim(ctx, dir, pool.Request{Role: RoleShim, Digest: pool.Digest(cfg), Payload: payload}, []*os.File{listener}, log)
	if err != nil {
		return err
	}
	c.Conn.Close()
	if w, err := warmSpawner(cfg, f.Debug); err == nil {
		pool.Fill(ctx, dir, cfg.Pool.Size, pool.HostBudget(cfg), w.Spawn)
	}
	return nil
}

// warmSpawner starts warm processes with the kite binary installed beside
// the shim, or on PATH.
func warmSpawner(cfg *configs.Config, debug bool) (pool.Warm, error) {
	kite := ""
	if self, err := os.Executable(); err == nil {
		if k := filepath.Join(filepath.Dir(self), "kite"); isExecutable(k) {
			kite = k
		}
	}
	if kite == "" {
		k, err := exec.LookPath("kite")
		if err != nil {
			return pool.Warm{}, fmt.Errorf("no kite binary beside the shim or on PATH to start warm VMs with")
		}
		kite = k
	}
	w := pool.Warm{Kite: kite, Root: cfg.Runtime.Root, Debug: debug}
	if path := configs.Locate("", os.Getenv, configs.SystemPath); path != "" {
		w.Config, _ = filepath.Abs(path)
	}
	return w, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// ServeClaimed is the daemon of a pod a warm process took: it serves the
// task API on listener, in the bundle, as the daemon start spawns does,
// with the pod's sandbox made by create (the warm VM's Creator).
func ServeClaimed(c Claim, cfg *configs.Config, listener *os.File, create sandbox.CreateFunc) error {
	if err := os.Chdir(c.Bundle); err != nil {
		return err
	}
	return serveOn(c.Flags, cfg, listener, create)
}
