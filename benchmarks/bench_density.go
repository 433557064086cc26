package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// density measures what idle pods cost the host as they add up, for each
// peer: N = 1, 4, 8, 16 pods running (created one after the other, each
// step adding to the last), their processes' PSS per pod and the host's
// MemAvailable drop per pod. Kite's pods count their sandbox process (the
// warm process of a pooled pod), QEMU and virtiofsd; runsc's its sandbox
// and gofer processes; runc's and crun's the container's own.
type density struct{}

func (density) Name() string     { return "density" }
func (density) Title() string    { return "Host memory per idle pod, N pods running" }
func (density) Baseline() string { return runscVariant }

// Repeats: a repeat runs 16 pods of each peer; one, without warm-up.
func (density) Repeats(Options) (int, int) { return 0, 1 }

type densityTrial struct {
	peerRuns
	dir, bundle string
	notes       []string
	counts      []int
	n           int
}

func (density) Setup(ctx context.Context, env Env) (Trial, error) {
	if err := firstErr(requireRoot(), requireKite(env), requireGuest(env.Config), requireVirtiofsd(env.Config)); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(env.WorkDir, "den")
	if err != nil {
		return nil, err
	}
	t := &densityTrial{dir: dir, bundle: filepath.Join(dir, "bundle"), counts: []int{1, 4, 8, 16}}
	if env.Quick {
		t.counts = []int{1, 2}
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

func (t *densityTrial) Notes() []string {
	return append([]string{fmt.Sprintf("busybox sleep pods, N = %v, measured %s after the last start; MemAvailable drop since before the first pod of the peer; the host is shared: its other work moves MemAvailable", t.counts, idleSettle),
		"kite pooled, kite templated: each step's pods claim warm VMs filled for them (one more, drained before measuring)"},
		t.notes...)
}

func (t *densityTrial) Close(ctx context.Context) error {
	return errors.Join(t.drain(ctx), os.RemoveAll(t.dir))
}

func (t *densityTrial) Repeat(ctx context.Context, rec *Recorder) error {
	return t.each(ctx, rec.Repeat, func(p *peer) error { return t.measure(ctx, rec, p) })
}

// measure adds pods of p up to each count, measures them idle, then
// deletes them all.
func (t *densityTrial) measure(ctx context.Context, rec *Recorder, p *peer) (err error) {
	before, ok := meminfoKiB(filepath.Join(procRoot, "meminfo"), "MemAvailable")
	if !ok {
		return errors.New("no MemAvailable in /proc/meminfo")
	}
	var ids []string
	defer func() {
		for _, id := range ids {
			err = errors.Join(err, p.remove(ctx, id))
		}
		err = errors.Join(err, p.drain(ctx))
	}()
	for _, n := range t.counts {
		if err := p.fill(ctx, n-len(ids)); err != nil {
			return err
		}
		for len(ids) < n {
			t.n++
			id := fmt.Sprintf("d%d", t.n)
			if err := p.create(ctx, t.bundle, id); err != nil {
				return err
			}
			ids = append(ids, id)
			if err := p.start(ctx, id); err != nil {
				return err
			}
		}
		// The pool's spare VM is no pod's: it goes before memory is read.
		if err := p.drain(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(idleSettle):
		}
		ps, err := p.processes(ctx, ids)
		if err != nil {
			return err
		}
		pss := sumPSSKiB(procRoot, ps)
		after, _ := meminfoKiB(filepath.Join(procRoot, "meminfo"), "MemAvailable")
		per := func(kib int64) float64 { return float64(kib) / 1024 / float64(n) }
		rec.Add(fmt.Sprintf("PSS per pod, N=%d", n), p.name, MiB, per(pss))
		rec.Add(fmt.Sprintf("MemAvailable drop per pod, N=%d", n), p.name, MiB, per(before-after))
	}
	return nil
}
