package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/oci/state"
)

// footprint measures what idle pods cost: N pods created with the kite CLI
// (a sandbox host process, QEMU and virtiofsd each), their host PSS per pod
// and the guest memory each uses; and the agent's RSS in one more pod made
// by the engine in this process, whose agent connection it can reach. The
// baseline is one pod: how the per-pod cost changes as pods share pages.
type footprint struct{}

const procRoot = "/proc"

// idleSettle lets freshly started pods finish their boot work.
const idleSettle = 2 * time.Second

func (footprint) Name() string     { return "footprint" }
func (footprint) Title() string    { return "Footprint per idle pod" }
func (footprint) Baseline() string { return "N=1" }

// Repeats: each repeat boots 1+2(+4) pods; no warm-up.
func (footprint) Repeats(o Options) (int, int) {
	if o.Quick {
		return 0, 1
	}
	return 0, min(o.Repeat, 2)
}

type footprintTrial struct {
	env    Env
	cfg    *configs.Config
	dir    string
	bundle string
	kite   ociCLI
	store  state.Store
	counts []int
	n      int
}

func (footprint) Setup(ctx context.Context, env Env) (Trial, error) {
	if err := firstErr(requireRoot(), requireKite(env), requireGuest(env.Config), requireVirtiofsd(env.Config)); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(env.WorkDir, "fp")
	if err != nil {
		return nil, err
	}
	t := &footprintTrial{env: env, cfg: benchConfig(env.Config), dir: dir, bundle: filepath.Join(dir, "bundle"),
		store: state.Store{Root: filepath.Join(dir, "k")}, counts: []int{1, 2, 4}}
	if env.Quick {
		t.counts = []int{1, 2}
	}
	t.kite = kiteCLI(env, t.store.Root, filepath.Join(dir, "cli.log"))
	if err := writeBundle(ctx, t.bundle, []string{"sleep", "100000"}); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return t, nil
}

func (t *footprintTrial) Notes() []string {
	return []string{fmt.Sprintf("pods of %d MiB guest RAM, %s after start; N = %v; PSS per pod", t.cfg.Hypervisor.MemoryMiB, idleSettle, t.counts)}
}

func (t *footprintTrial) Close(context.Context) error { return os.RemoveAll(t.dir) }

func (t *footprintTrial) Repeat(ctx context.Context, rec *Recorder) error {
	for _, n := range t.counts {
		if err := t.pods(ctx, rec, n); err != nil {
			return err
		}
	}
	return t.agentRSS(ctx, rec)
}

// pods creates and starts n pods, measures them idle, and deletes them.
func (t *footprintTrial) pods(ctx context.Context, rec *Recorder, n int) (err error) {
	var ids []string
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), vmStopBudget)
		defer cancel()
		for _, id := range ids {
			err = errors.Join(err, t.kite.run(dctx, "delete", "--force", id))
		}
	}()
	for range n {
		t.n++
		id := fmt.Sprintf("p%d", t.n)
		if err := t.kite.run(ctx, "create", "--bundle", t.bundle, id); err != nil {
			return err
		}
		ids = append(ids, id)
		if err := t.kite.run(ctx, "start", id); err != nil {
			return err
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(idleSettle):
	}
	var sum podCost
	for _, id := range ids {
		c, err := t.cost(ctx, id)
		if err != nil {
			return err
		}
		sum = sum.add(c)
	}
	v, per := fmt.Sprintf("N=%d", n), func(kib int64) float64 { return float64(kib) / 1024 / float64(n) }
	rec.Add("QEMU PSS", v, MiB, per(sum.qemu))
	rec.Add("virtiofsd PSS", v, MiB, per(sum.virtiofsd))
	rec.Add("kite host process PSS", v, MiB, per(sum.host))
	rec.Add("host total PSS", v, MiB, per(sum.qemu+sum.virtiofsd+sum.host))
	rec.Add("guest memory used", v, MiB, per(sum.guestUsed))
	return nil
}

// podCost is one pod's memory, in KiB.
type podCost struct{ qemu, virtiofsd, host, guestUsed int64 }

func (a podCost) add(b podCost) podCost {
	return podCost{a.qemu + b.qemu, a.virtiofsd + b.virtiofsd, a.host + b.host, a.guestUsed + b.guestUsed}
}

func (t *footprintTrial) cost(ctx context.Context, id string) (podCost, error) {
	h, err := t.store.Open(id)
	if err != nil {
		return podCost{}, err
	}
	st, err := h.Read()
	if err != nil {
		return podCost{}, err
	}
	var c podCost
	if c.host, err = pssKiB(procRoot, st.Pid); err != nil {
		return c, err
	}
	if c.qemu, err = pssKiB(procRoot, st.QEMUPid); err != nil {
		return c, err
	}
	for _, pid := range st.VirtiofsdPids {
		kib, err := treePSSKiB(procRoot, pid)
		if err != nil {
			return c, err
		}
		c.virtiofsd += kib
	}
	meminfo, err := t.kite.output(ctx, "exec", id, "cat", "/proc/meminfo")
	if err != nil {
		return c, err
	}
	total, ok1 := parseMeminfo(meminfo, "MemTotal")
	avail, ok2 := parseMeminfo(meminfo, "MemAvailable")
	if !ok1 || !ok2 {
		return c, fmt.Errorf("pod %s: no MemTotal/MemAvailable in the guest's meminfo", id)
	}
	c.guestUsed = total - avail
	return c, nil
}

// agentRSS makes one pod with the engine, its container idle, and asks the
// agent for its RSS (the CLI's pods keep their agent connection in their
// sandbox host process).
func (t *footprintTrial) agentRSS(ctx context.Context, rec *Recorder) (err error) {
	t.n++
	p, err := startPod(ctx, podSpec{cfg: t.cfg, host: t.env.host(), dir: filepath.Join(t.dir, fmt.Sprintf("a%d", t.n)),
		rootfs: filepath.Join(t.bundle, "rootfs")})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, p.stop()) }()
	d, err := p.machine().Agent().GuestDetails(ctx)
	if err != nil {
		return err
	}
	rec.Add("agent RSS", "N=1", MiB, float64(d.GetAgentRssBytes())/(1<<20))
	return nil
}
