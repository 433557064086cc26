package tasks

import (
	"context"
	"errors"
	"fmt"
	"github.com/kite-vm/kite/shim/internal/cio"
	"github.com/kite-vm/kite/shim/internal/portfwd"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
)

// pod is what the shim serves: the pod's sandbox (one VM), created for
// its first task, and its tasks.
type pod struct {
	cfg      *configs.Config
	id, dir  string // the sandbox's id and directory
	log      *slog.Logger
	observer sandbox.Observer
	// create makes the pod's sandbox: sandbox.Create, or a claimed warm
	// VM's Creator.
	create sandbox.CreateFunc

	// createMu serialises Create, which boots the VM for the first
	// container, without holding mu through the boot.
	createMu sync.Mutex

	mu    sync.Mutex
	sb    *sandbox.Sandbox   // guarded by mu; nil until the first Create
	tasks map[string]*task   // guarded by mu
	fwd   *portfwd.Forwarder // guarded by mu; nil without port forwarding
}

// task is one container as containerd knows it.
type task struct {
	c      *sandbox.Container
	bundle string
	// rootfs is the bundle's rootfs directory when the shim mounted the
	// snapshot on it ("" when containerd gave no mounts).
	rootfs string
	stdio  cio.Paths
	mu     sync.Mutex
	execIO map[string]cio.Paths // guarded by mu: each exec's FIFOs
}

// stdioOf is the FIFOs of a process, for State.
func (t *task) stdioOf(execID string) cio.Paths {
	if execID == "" {
		return t.stdio
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.execIO[execID]
}

// task returns the task with the given id.
func (p *pod) task(id string) (*task, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.tasks[id]
	if !ok {
		return nil, errorf(sandbox.ErrNotFound, "task %q does not exist", id)
	}
	return t, nil
}

// process returns the init process of task id, or its exec execID.
func (p *pod) process(id, execID string) (*task, *sandbox.Process, error) {
	t, err := p.task(id)
	if err != nil {
		return nil, nil, err
	}
	if execID == "" {
		return t, t.c.Init(), nil
	}
	pr, err := t.c.Exec(execID)
	return t, pr, err
}

// add registers a created task.
func (p *pod) add(id string, t *task) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tasks[id] = t
}

// count is how many tasks the pod has.
func (p *pod) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.tasks)
}

// current is the pod's sandbox, nil before the first Create.
func (p *pod) current() *sandbox.Sandbox {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sb
}

// sandboxFor returns the pod's sandbox, creating it (booting the VM) for
// the first container.
func (p *pod) sandboxFor(ctx context.Context, first *spec.Container, cu *cleanup.Stack) (*sandbox.Sandbox, error) {
	if sb := p.current(); sb != nil {
		return sb, nil
	}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, err
	}
	fwdAddr := p.podAddress(first)
	started := time.Now()
	sb, err := p.create(ctx, sandbox.Config{ID: p.id, Dir: p.dir, Config: p.cfg, Root: p.cfg.Runtime.Root, JoinCgroup: true,
		Observer: p.observer, Logger: p.log}, first)
	if err != nil {
		removeIfExists(p.dir)
		return nil, err
	}
	cu.Add("stopping the VM", func() error { return p.stop(sb) })
	p.mu.Lock()
	p.sb = sb
	p.mu.Unlock()
	cu.Add("forgetting the VM", func() error { p.mu.Lock(); p.sb = nil; p.mu.Unlock(); return nil })
	p.startForwarding(first.NetnsPath, fwdAddr)
	cu.Add("stopping port forwarding", func() error { p.stopForwarding(); return nil })
	for _, w := range sb.Warnings() {
		p.log.Warn(w)
	}
	t := sb.Machine().Timings()
	p.log.Info("pod booted", "qemu_started", t.QEMUStarted, "agent_ready", t.AgentReady, "booted", t.Booted, "took", time.Since(started))
	return sb, nil
}

// remove removes the task's container from the pod, unmounts its rootfs
// and, for the last task, stops the VM.
func (p *pod) remove(ctx context.Context, t *task) error {
	var errs []error
	if sb := p.current(); sb != nil {
		errs = append(errs, sb.RemoveContainer(ctx, t.c.ID()))
	}
	if t.rootfs != "" {
		errs = append(errs, cio.UnmountAll(t.rootfs))
	}
	p.mu.Lock()
	delete(p.tasks, t.c.ID())
	sb := p.sb
	last := len(p.tasks) == 0
	if last {
		p.sb = nil
	}
	p.mu.Unlock()
	if last && sb != nil {
		p.stopForwarding()
		errs = append(errs, p.stop(sb))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("deleting task %q: %w", t.c.ID(), err)
	}
	return nil
}

// stop stops the sandbox and removes its directory, which the engine has
// emptied.
func (p *pod) stop(sb *sandbox.Sandbox) error {
	err := sb.Stop()
	if rerr := removeIfExists(p.dir); err == nil {
		err = rerr
	}
	return err
}

// stopAll stops the VM and unmounts every rootfs, for a daemon told to
// stop by a signal: nothing of the pod may outlive it.
func (p *pod) stopAll() {
	p.stopForwarding()
	p.mu.Lock()
	sb := p.sb
	p.sb = nil
	var ts []*task
	for _, t := range p.tasks {
		ts = append(ts, t)
	}
	p.mu.Unlock()
	if sb != nil {
		if err := p.stop(sb); err != nil {
			p.log.Warn("stopping the VM", "err", err)
		}
	}
	for _, t := range ts {
		if t.rootfs != "" {
			if err := cio.UnmountAll(t.rootfs); err != nil {
				p.log.Warn("unmounting a rootfs", "container", t.c.ID(), "err", err)
			}
		}
	}
}
