package sandbox

import (
	"context"
	"fmt"
	"time"

	"github.com/kite-vm/kite/sandbox/internal/agentreq"
	"github.com/kite-vm/kite/spec"
)

// AddExec registers a process to run in the running container, with its
// stdio; Start runs it. The id of an exec that has exited may be used
// again.
func (c *Container) AddExec(id string, p *spec.Process, pio IO) (*Process, error) {
	if id == "" {
		return nil, errorf(ErrInvalidArgument, "the exec id is empty")
	}
	if p == nil {
		return nil, errorf(ErrInvalidArgument, "exec %q without a process", id)
	}
	if err := c.init.require("exec into it", StatusRunning); err != nil {
		return nil, err
	}
	if err := c.sb.checkDegraded(c.name(), "exec"); err != nil {
		return nil, err
	}
	pr := newProcess(c, id, pio)
	pr.spec = p.Clone()
	setStdio(pr.spec, pio)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.execs[id]; ok && !old.exited() {
		return nil, errorf(ErrAlreadyExists, "%s already has exec %q", c.name(), id)
	}
	c.execs[id] = pr
	return pr, nil
}

// Exec returns the exec with the given id.
func (c *Container) Exec(id string) (*Process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.execs[id]
	if !ok {
		return nil, errorf(ErrNotFound, "%s has no exec %q", c.name(), id)
	}
	return p, nil
}

// RemoveExec forgets an exec that is not running: it stopped, or was
// never started (it is then reported exited).
func (c *Container) RemoveExec(id string) (Exit, error) {
	p, err := c.Exec(id)
	if err != nil {
		return Exit{}, err
	}
	if st := p.Status(); st == StatusRunning || st == StatusPaused {
		return Exit{}, errorf(ErrFailedPrecondition, "%s is %s, cannot delete it", p.name(), st)
	}
	p.stop(0, time.Now())
	c.mu.Lock()
	delete(c.execs, id)
	c.mu.Unlock()
	e, _ := p.Exit()
	return e, nil
}

// Start runs an exec registered by AddExec in the guest and relays its
// stdio. (A container's init is started with Container.Start.)
func (p *Process) Start(ctx context.Context) error {
	if p.execID == "" {
		return p.c.Start(ctx)
	}
	p.mu.Lock()
	ps := p.spec
	p.mu.Unlock()
	if err := p.require("start", StatusCreated); err != nil {
		return err
	}
	if p.c.init.exited() {
		return errorf(ErrFailedPrecondition, "%s is stopped, cannot start exec %q", p.c.name(), p.execID)
	}
	if err := p.c.sb.checkDegraded(p.c.name(), "exec"); err != nil {
		return err
	}
	pid, err := p.c.sb.agent().ExecProcess(ctx, p.ref, agentreq.Process(ps))
	if err != nil {
		return fmt.Errorf("starting %s: %w", p.name(), explain(p.c.sb, err))
	}
	p.setPid(int(pid))
	if err := p.move(StatusRunning); err != nil {
		return err
	}
	go p.watch(startRelay(p.c.sb.agent(), p.ref, p.io))
	return nil
}
