package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// containerStart runs the same busybox bundle through the kite CLI (a VM
// per container) and through Debian's runc: create, start, delete.
type containerStart struct{}

const runcVariant = "runc"

func (containerStart) Name() string     { return "container" }
func (containerStart) Title() string    { return "Container lifecycle, same OCI bundle" }
func (containerStart) Baseline() string { return runcVariant }

type containerTrial struct {
	dir, bundle string
	kite, runc  ociCLI
	n           int
}

func (containerStart) Setup(ctx context.Context, env Env) (Trial, error) {
	runc, err := exec.LookPath("runc")
	if err != nil {
		return nil, skip("runc is missing (apt-get install runc)")
	}
	if err := firstErr(requireRoot(), requireKite(env), requireGuest(env.Config)); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(env.WorkDir, "ctr")
	if err != nil {
		return nil, err
	}
	t := &containerTrial{dir: dir, bundle: filepath.Join(dir, "bundle")}
	log := filepath.Join(dir, "cli.log")
	t.kite = kiteCLI(env, filepath.Join(dir, "k"), log)
	t.runc = ociCLI{bin: runc, global: []string{"--root", filepath.Join(dir, "r")}, log: log}
	if err := writeBundle(ctx, t.bundle, []string{"sleep", "100000"}); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return t, nil
}

func (t *containerTrial) Notes() []string {
	return []string{"busybox sleep; create, start, then delete --force"}
}

func (t *containerTrial) Close(ctx context.Context) error { return os.RemoveAll(t.dir) }

func (t *containerTrial) Repeat(ctx context.Context, rec *Recorder) error {
	order := []struct {
		variant string
		cli     ociCLI
	}{{"kite", t.kite}, {runcVariant, t.runc}}
	if rec.Repeat%2 != 0 {
		order[0], order[1] = order[1], order[0]
	}
	for _, o := range order {
		if err := t.lifecycle(ctx, rec, o.variant, o.cli); err != nil {
			return err
		}
	}
	return nil
}

// lifecycle times create, start and delete of one container.
func (t *containerTrial) lifecycle(ctx context.Context, rec *Recorder, variant string, cli ociCLI) (err error) {
	t.n++
	id := fmt.Sprintf("c%d", t.n)
	t0 := time.Now()
	if err := cli.run(ctx, "create", "--bundle", t.bundle, id); err != nil {
		return err
	}
	deleted := false
	defer func() {
		if !deleted {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), vmStopBudget)
			defer cancel()
			err = errors.Join(err, cli.run(dctx, "delete", "--force", id))
		}
	}()
	created := time.Since(t0)
	t1 := time.Now()
	if err := cli.run(ctx, "start", id); err != nil {
		return err
	}
	started := time.Since(t1)
	t2 := time.Now()
	deleted = true
	if err := cli.run(ctx, "delete", "--force", id); err != nil {
		return err
	}
	rec.Add("create", variant, Millis, ms(created))
	rec.Add("start", variant, Millis, ms(started))
	rec.Add("create + start", variant, Millis, ms(created+started))
	rec.Add("delete --force", variant, Millis, ms(time.Since(t2)))
	return nil
}
