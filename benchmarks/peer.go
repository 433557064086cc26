package benchmarks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kite-vm/kite/oci/state"
)

// Variants of the benchmarks that set Kite beside its peers: Kite's ways
// to a pod and the OCI runtimes it is measured against.
const (
	kiteCold      = "kite"
	kitePooled    = "kite pooled"
	kiteTemplated = "kite templated"
	crunVariant   = "crun"
	runscVariant  = "runsc"
)

// peerKind says how a peer's pods are made and which processes are theirs.
type peerKind int

const (
	kindKite  peerKind = iota // kite create boots a VM
	kindPool                  // kite create claims a warm VM of the pool
	kindOCI                   // runc, crun: the container's own processes
	kindRunsc                 // runsc: the sandbox and gofer, found by --root
)

// peer runs the benchmark's bundle one way, with a state root of its own.
type peer struct {
	name string
	kind peerKind
	cli  ociCLI
	root string
	// warm are the pids of the pool's warm processes after the last fill:
	// a pooled create must have been taken by one of them.
	warm map[int]bool
}

// create creates container id from bundle; a pooled create must have
// claimed a warm VM, not booted one. A failed create leaves no container.
func (p *peer) create(ctx context.Context, bundle, id string) error {
	if err := p.cli.run(ctx, "create", "--bundle", bundle, id); err != nil {
		return err
	}
	if p.kind != kindPool {
		return nil
	}
	st, err := p.kiteState(id)
	if err == nil && !p.warm[st.Pid] {
		err = fmt.Errorf("container %s got sandbox process %d, not one of the pool's warm VMs: the create booted a VM (see %s)", id, st.Pid, p.cli.log)
	}
	if err != nil {
		return errors.Join(err, p.remove(ctx, id))
	}
	return nil
}

func (p *peer) start(ctx context.Context, id string) error { return p.cli.run(ctx, "start", id) }

// remove deletes container id, with a budget of its own (it runs after
// Ctrl-C too).
func (p *peer) remove(ctx context.Context, id string) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), vmStopBudget)
	defer cancel()
	return p.cli.run(dctx, "delete", "--force", id)
}

// poolFillBudget bounds the wait for a pool's warm VMs to be ready, and
// slotAppearBudget the wait for their processes to make their slots.
const (
	poolFillBudget   = 15 * time.Minute
	slotAppearBudget = time.Minute
)

// fill has a pooled peer's pool hold n+1 ready warm VMs: n creates then
// leave one, so none triggers a refill (a VM booting in the background)
// while the benchmark measures. It waits for them itself rather than with
// fill --wait, to stop at once when a warm VM ends while booting. Other
// peers have nothing to prepare.
func (p *peer) fill(ctx context.Context, n int) error {
	if p.kind != kindPool {
		return nil
	}
	want := n + 1
	if err := p.cli.run(ctx, "pool", "fill", "--size", strconv.Itoa(want)); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, poolFillBudget)
	defer cancel()
	// A warm process makes its slot once it runs: until all are there, a
	// missing one is not yet a lost one.
	appearBy, appeared := time.Now().Add(slotAppearBudget), false
	for {
		slots, err := p.poolStatus(wctx)
		if err != nil {
			return err
		}
		warm, live := map[int]bool{}, 0
		for _, s := range slots {
			switch s.State {
			case "ready":
				warm[s.Pid] = true
				live++
			case "booting":
				live++
			}
		}
		switch {
		case len(warm) >= want:
			p.warm = warm
			return nil
		case live >= want:
			appeared = true
		case appeared || time.Now().After(appearBy):
			return fmt.Errorf("%d of %d warm VMs left the pool while booting (a warm process logs why in its slot, which goes with it)", want-live, want)
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("waiting for %d warm VMs: %d ready after %s: %w", want, len(warm), poolFillBudget, wctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// poolSlot is what the benchmarks read of kite pool status --json.
type poolSlot struct {
	Pid   int    `json:"pid"`
	State string `json:"state"`
}

func (p *peer) poolStatus(ctx context.Context) ([]poolSlot, error) {
	out, err := p.cli.output(ctx, "pool", "status", "--json")
	if err != nil {
		return nil, err
	}
	var slots []poolSlot
	if err := json.Unmarshal([]byte(out), &slots); err != nil {
		return nil, fmt.Errorf("reading kite pool status: %w", err)
	}
	return slots, nil
}

// drain stops a pooled peer's unclaimed warm VMs: before memory is
// measured, and at the end.
func (p *peer) drain(ctx context.Context) error {
	if p.kind != kindPool {
		return nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeBudget)
	defer cancel()
	return p.cli.run(dctx, "pool", "drain")
}

// running fails unless container id is running.
func (p *peer) running(ctx context.Context, id string) error {
	out, err := p.cli.output(ctx, "state", id)
	if err != nil {
		return err
	}
	var st struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return fmt.Errorf("state %s: %w", id, err)
	}
	if st.Status != "running" {
		return fmt.Errorf("container %s is %q, not running", id, st.Status)
	}
	return nil
}

// processes are the host processes of the pods ids: for Kite each pod's
// sandbox process (the warm process of a pooled pod) with its QEMU and
// virtiofsd, and its init proxy; for runc and crun the containers'
// processes; for runsc every sandbox and gofer of the peer's root, with
// their children.
func (p *peer) processes(ctx context.Context, ids []string) ([]proc, error) {
	var roots []int
	switch p.kind {
	case kindRunsc:
		roots = withArg(procRoot, "--root="+p.root, false)
	case kindOCI:
		for _, id := range ids {
			out, err := p.cli.output(ctx, "state", id)
			if err != nil {
				return nil, err
			}
			var st struct {
				Pid int `json:"pid"`
			}
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				return nil, fmt.Errorf("state %s: %w", id, err)
			}
			roots = append(roots, st.Pid)
		}
	default:
		for _, id := range ids {
			st, err := p.kiteState(id)
			if err != nil {
				return nil, err
			}
			roots = append(roots, st.Pid)
			if st.InitPid > 0 {
				roots = append(roots, st.InitPid)
			}
		}
	}
	return processTree(procRoot, roots)
}

func (p *peer) kiteState(id string) (state.State, error) {
	h, err := state.Store{Root: p.root}.Open(id)
	if err != nil {
		return state.State{}, err
	}
	return h.Read()
}

// leftovers reports what the peer left of the pods ids once they were
// deleted: a process of theirs still running, a process naming the state
// root, files of theirs in it (a Kite pool's directory must be empty once
// drained).
func (p *peer) leftovers(ps []proc, ids []string) error {
	var errs []error
	for _, q := range ps {
		if q.alive(procRoot) {
			errs = append(errs, fmt.Errorf("process %d (%s) still runs", q.pid, cmdline(q.pid)))
		}
	}
	named := append(append(withArg(procRoot, p.root, false), withArg(procRoot, "--root="+p.root, false)...),
		mentioning(procRoot, p.root+"/")...)
	slices.Sort(named)
	for _, pid := range slices.Compact(named) {
		if !slices.ContainsFunc(ps, func(q proc) bool { return q.pid == pid }) {
			errs = append(errs, fmt.Errorf("process %d (%s) still runs", pid, cmdline(pid)))
		}
	}
	ents, _ := os.ReadDir(p.root)
	for _, e := range ents {
		for _, id := range ids {
			if strings.Contains(e.Name(), id) {
				errs = append(errs, fmt.Errorf("%s is left in %s", e.Name(), p.root))
				break
			}
		}
	}
	slots, _ := os.ReadDir(filepath.Join(p.root, "pool"))
	for _, s := range slots {
		errs = append(errs, fmt.Errorf("pool slot %s is left", s.Name()))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pods left behind: %w", err)
	}
	return nil
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cmdline"))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}
