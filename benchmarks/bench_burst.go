package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// burst starts 16 pods at once with each peer (16 creates, each followed
// by its start, all concurrent) and times until every one is started;
// then it checks that all run, deletes them and checks that nothing of
// them is left: no process, no state, no pool slot.
type burst struct{}

func (burst) Name() string     { return "burst" }
func (burst) Title() string    { return "Pods started at once" }
func (burst) Baseline() string { return runscVariant }

// Repeats: a repeat boots 16 VMs per Kite mode; one, without warm-up.
func (burst) Repeats(Options) (int, int) { return 0, 1 }

type burstTrial struct {
	peerRuns
	dir, bundle string
	notes       []string
	count       int
	n           int
}

func (burst) Setup(ctx context.Context, env Env) (Trial, error) {
	if err := firstErr(requireRoot(), requireKite(env), requireGuest(env.Config), requireVirtiofsd(env.Config)); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(env.WorkDir, "bur")
	if err != nil {
		return nil, err
	}
	t := &burstTrial{dir: dir, bundle: filepath.Join(dir, "bundle"), count: 16}
	if env.Quick {
		t.count = 4
	}
	if t.peers, t.notes, err = peers(env, dir); err == nil {
		err = writeBundle(ctx, t.bundle, []string{"sleep", "100000"})
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return t, nil
}

func (t *burstTrial) Notes() []string {
	return append([]string{fmt.Sprintf("%d busybox sleep pods, each created then started, all at once; then each checked running, deleted, and nothing of them left", t.count),
		fmt.Sprintf("kite pooled, kite templated: %d warm VMs ready before (untimed)", t.count+1)}, t.notes...)
}

func (t *burstTrial) Close(ctx context.Context) error {
	return errors.Join(t.drain(ctx), os.RemoveAll(t.dir))
}

func (t *burstTrial) Repeat(ctx context.Context, rec *Recorder) error {
	return t.each(ctx, rec.Repeat, func(p *peer) error { return t.burst(ctx, rec, p) })
}

// burst starts t.count pods of p at once and records how long until all
// were started.
func (t *burstTrial) burst(ctx context.Context, rec *Recorder, p *peer) (err error) {
	if err := p.fill(ctx, t.count); err != nil {
		return err
	}
	ids := make([]string, t.count)
	for i := range ids {
		t.n++
		ids[i] = fmt.Sprintf("b%d", t.n)
	}
	created := make([]bool, t.count)
	errs := make([]error, t.count)
	defer func() {
		for i, id := range ids {
			if created[i] {
				err = errors.Join(err, p.remove(ctx, id))
			}
		}
		err = errors.Join(err, p.drain(ctx))
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = p.create(ctx, t.bundle, id); errs[i] == nil {
				created[i] = true
				errs[i] = p.start(ctx, id)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, id := range ids {
		if err := p.running(ctx, id); err != nil {
			return err
		}
	}
	ps, err := p.processes(ctx, ids)
	if err != nil {
		return err
	}
	for i, id := range ids {
		created[i] = false
		if err := p.remove(ctx, id); err != nil {
			return err
		}
	}
	if err := p.drain(ctx); err != nil {
		return err
	}
	if err := leftoversSettled(ctx, p, ps, ids); err != nil {
		return err
	}
	rec.Add(fmt.Sprintf("%d pods at once: all started", t.count), p.name, Millis, ms(wall))
	rec.Add("pods started per second", p.name, PodsPerSec, float64(t.count)/wall.Seconds())
	return nil
}

// leftoversSettled is p.leftovers once the pods' processes had a moment to
// go: a helper may exit just after the process that waited for it.
func leftoversSettled(ctx context.Context, p *peer, ps []proc, ids []string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := p.leftovers(ps, ids)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}
