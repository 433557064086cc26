package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/pool"
	"github.com/kite-vm/kite/sandbox"
)

// poolDaemonCommand runs a warm process of the pool; it is not for people.
const poolDaemonCommand = pool.DaemonCommand

// runPool manages the pool of warm VMs: status, fill, drain.
func runPool(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want pool status|fill|drain", errUsage)
	}
	sub, rest := args[0], args[1:]
	fs := newFlags(e, "pool "+sub, "")
	asJSON := fs.Bool("json", false, "print JSON instead of a table (status)")
	size := fs.Int("size", -1, "warm VMs to keep (fill; default pool.size)")
	wait := fs.Bool("wait", false, "wait until every warm VM is ready (fill)")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	cfg, err := e.config()
	if err != nil {
		return err
	}
	root, err := e.stateRoot(cfg)
	if err != nil {
		return err
	}
	wp := newWarmPool(e, cfg, root)
	switch sub {
	case "status":
		return wp.status(*asJSON)
	case "fill":
		n := cfg.Pool.Size
		if *size >= 0 {
			n = *size
		}
		return wp.fill(ctx, n, *wait)
	case "drain":
		stopped, err := pool.Drain(ctx, wp.dir)
		fmt.Fprintf(e.io.Out, "stopped %d warm VMs\n", stopped)
		removed, terr := sandbox.RemoveTemplates(ctx, templatesDir(cfg, root))
		if removed > 0 {
			fmt.Fprintf(e.io.Out, "removed %d VM templates\n", removed)
		}
		return errors.Join(err, terr)
	}
	return fmt.Errorf("%w: unknown pool command %q: want status, fill or drain", errUsage, sub)
}

// poolEntry is a line of kite pool status.
type poolEntry struct {
	pool.Status
	// Stale: booted with another configuration or guest than the current
	// one; no claim takes it, a drain and a fill replace it.
	Stale bool `json:"stale"`
}

// warmPool is the pool of warm VMs of a configuration and state root.
type warmPool struct {
	e      *env
	cfg    *configs.Config
	root   string
	dir    string
	digest string
}

func newWarmPool(e *env, cfg *configs.Config, root string) *warmPool {
	return &warmPool{e: e, cfg: cfg, root: root, dir: cfg.Pool.DirUnder(root), digest: pool.Digest(cfg)}
}

// budget is what the host's memory allows.
func (p *warmPool) budget() pool.Budget { return pool.HostBudget(p.cfg) }

func (p *warmPool) status(asJSON bool) error {
	e, digest := p.e, p.digest
	sts, err := pool.List(p.dir)
	if err != nil {
		return err
	}
	entries := make([]poolEntry, 0, len(sts))
	for _, st := range sts {
		entries = append(entries, poolEntry{Status: st, Stale: st.Digest != digest})
	}
	if asJSON {
		return json.NewEncoder(e.io.Out).Encode(entries)
	}
	tw := tabwriter.NewWriter(e.io.Out, 8, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "SLOT\tPID\tSTATE\tSINCE\tBOOT\tMEMORY\tCONFIG")
	for _, en := range entries {
		conf := "current"
		if en.Stale {
			conf = "stale"
		}
		boot := "-"
		if en.Boot > 0 {
			boot = en.Boot.Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d MiB\t%s\n", en.Slot, en.Pid, en.State,
			en.Since.Local().Format(time.TimeOnly), boot, en.MemoryMiB, conf)
	}
	return tw.Flush()
}

// fill starts warm processes up to size, replacing stale ones first.
func (p *warmPool) fill(ctx context.Context, size int, wait bool) error {
	e, digest, b := p.e, p.digest, p.budget()
	sts, err := pool.List(p.dir)
	if err != nil {
		return err
	}
	current := 0
	for _, st := range sts {
		if st.State != pool.StateDead && st.Digest == digest {
			current++
		}
	}
	// Refused before a stale VM is stopped: a fill that cannot happen
	// changes nothing.
	if err := b.Check(size - current); err != nil {
		return err
	}
	if err := p.drainStale(ctx); err != nil {
		return err
	}
	started, err := pool.Fill(ctx, p.dir, size, b, p.spawn)
	fmt.Fprintf(e.io.Out, "started %d warm VMs (pool size %d)\n", started, size)
	if err != nil || !wait {
		return err
	}
	return p.waitReady(ctx, size)
}

// drainStale stops the warm VMs booted from another configuration or
// guest than the current one.
func (p *warmPool) drainStale(ctx context.Context) error {
	e, digest := p.e, p.digest
	sts, err := pool.List(p.dir)
	if err != nil {
		return err
	}
	for _, st := range sts {
		if st.State != pool.StateDead && st.Digest != digest {
			if _, err := pool.DrainSlot(ctx, st); err != nil {
				return fmt.Errorf("replacing stale warm VM %s: %w", st.Slot, err)
			}
			fmt.Fprintf(e.io.Out, "stopped stale warm VM %s\n", st.Slot)
		}
	}
	return nil
}

// waitReady waits until size warm VMs are ready, printing progress.
func (p *warmPool) waitReady(ctx context.Context, size int) error {
	e, dir := p.e, p.dir
	last := -1
	for {
		sts, err := pool.List(dir)
		if err != nil {
			return err
		}
		ready, dead := 0, 0
		for _, st := range sts {
			switch st.State {
			case pool.StateReady:
				ready++
			case pool.StateDead:
				dead++
			}
		}
		if ready != last {
			fmt.Fprintf(e.io.Out, "%d/%d warm VMs ready\n", ready, size)
			last = ready
		}
		if ready >= size {
			return nil
		}
		if dead > 0 {
			return fmt.Errorf("%d warm VMs died while booting: see the log in their slot under %s", dead, dir)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// spawn starts a warm process of this binary, detached.
func (p *warmPool) spawn() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	w := pool.Warm{Kite: self, Root: p.root, Debug: p.e.globals.debug}
	if cfg := configs.Locate(p.e.globals.configPath, p.e.getenv, configs.SystemPath); cfg != "" {
		w.Config, _ = filepath.Abs(cfg)
	}
	return w.Spawn()
}
