package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// containerStart runs the same busybox bundle through the kite CLI (a VM
// per container: booted cold, claimed from the pool of warm VMs, or cloned
// from a template) and through the OCI runtimes installed here (runc, crun,
// gVisor's runsc): create, start, delete.
type containerStart struct{}

const runcVariant = "runc"

func (containerStart) Name() string     { return "container" }
func (containerStart) Title() string    { return "Container lifecycle, same OCI bundle" }
func (containerStart) Baseline() string { return runcVariant }

type containerTrial struct {
	peerRuns
	dir, bundle string
	notes       []string
	n           int
}

func (containerStart) Setup(ctx context.Context, env Env) (Trial, error) {
	if err := firstErr(requireRoot(), requireKite(env), requireGuest(env.Config)); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(env.WorkDir, "ctr")
	if err != nil {
		return nil, err
	}
	t := &containerTrial{dir: dir, bundle: filepath.Join(dir, "bundle")}
	if t.peers, t.notes, err = peers(env, dir); err == nil {
		err = writeBundle(ctx, t.bundle, []string{"sleep", "100000"})
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return t, nil
}

func (t *containerTrial) Notes() []string {
	return append([]string{"busybox sleep; create, start, then delete --force",
		"kite pooled, kite templated: the pool refilled and waited for before each create (untimed), one warm VM left over so that the create triggers no refill"},
		t.notes...)
}

func (t *containerTrial) Close(ctx context.Context) error {
	return errors.Join(t.drain(ctx), os.RemoveAll(t.dir))
}

// Repeat runs each peer's lifecycle once, starting with a different peer
// each repeat.
func (t *containerTrial) Repeat(ctx context.Context, rec *Recorder) error {
	return t.each(ctx, rec.Repeat, func(p *peer) error { return t.lifecycle(ctx, rec, p) })
}

// rotate returns ps starting at index r (mod len): the order of the
// variants changes from repeat to repeat, so none always runs first.
func rotate[T any](ps []T, r int) []T {
	if len(ps) == 0 {
		return nil
	}
	i := ((r % len(ps)) + len(ps)) % len(ps)
	return append(append([]T(nil), ps[i:]...), ps[:i]...)
}

// lifecycle times create, start and delete of one container.
func (t *containerTrial) lifecycle(ctx context.Context, rec *Recorder, p *peer) (err error) {
	if err := p.fill(ctx, 1); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, p.drain(ctx)) }()
	t.n++
	id := fmt.Sprintf("c%d", t.n)
	t0 := time.Now()
	if err := p.create(ctx, t.bundle, id); err != nil {
		return err
	}
	deleted := false
	defer func() {
		if !deleted {
			err = errors.Join(err, p.remove(ctx, id))
		}
	}()
	created := time.Since(t0)
	t1 := time.Now()
	if err := p.start(ctx, id); err != nil {
		return err
	}
	started := time.Since(t1)
	t2 := time.Now()
	deleted = true
	if err := p.cli.run(ctx, "delete", "--force", id); err != nil {
		return err
	}
	rec.Add("create", p.name, Millis, ms(created))
	rec.Add("start", p.name, Millis, ms(started))
	rec.Add("create + start", p.name, Millis, ms(created+started))
	rec.Add("delete --force", p.name, Millis, ms(time.Since(t2)))
	return nil
}
