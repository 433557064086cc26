package sandbox

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/sandbox/internal/agentreq"
	"github.com/kite-vm/kite/spec"
)

// removeTimeout bounds the agent's wait for a removed container's
// processes to die.
const removeTimeout = 10 * time.Second

// Container is a container of the sandbox: its init process and its execs.
type Container struct {
	sb   *Sandbox
	id   string
	spec *spec.Container // as prepared: sources in the guest, env rewritten
	init *Process

	// timings are CreateContainer's stages.
	timings CreateTimings

	// opMu serializes the requests that change the container's status.
	opMu sync.Mutex

	mu      sync.Mutex
	execs   map[string]*Process // guarded by mu
	release *cleanup.Stack      // guarded by mu: undoes what CreateContainer set up
	removed bool                // guarded by mu
}

// CreateContainer puts the container's host paths into the VM (its root
// file system and bind mounts through the shared directory, disks
// hot-plugged, DAX mounts pointed at the NVDIMMs the VM booted with), gives
// it its PCIDEVICE_* functions (attached at boot for the first container,
// hot-plugged for the others) with the variables rewritten to guest
// addresses, and creates it in the guest, not started, its stdio relayed
// through pio. A failure undoes what it did.
func (s *Sandbox) CreateContainer(ctx context.Context, c *spec.Container, pio IO) (_ *Container, err error) {
	if c == nil || c.ID == "" {
		return nil, errorf(ErrInvalidArgument, "a container needs an id")
	}
	if err := s.checkDegraded(fmt.Sprintf("sandbox %q", s.cfg.ID), "create a container"); err != nil {
		return nil, err
	}
	if err := checkLaterAnnotations(s, c.ID, c.Annotations); err != nil {
		return nil, err
	}
	ctr := &Container{sb: s, id: c.ID, execs: map[string]*Process{}}
	if err := s.reserve(ctr); err != nil {
		return nil, err
	}
	var cu cleanup.Stack
	defer func() {
		if err != nil {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopBudget)
			defer cancel()
			err = errors.Join(fmt.Errorf("creating container %q: %w", c.ID, err), cu.CleanCtx(uctx))
			s.forget(c.ID)
		}
	}()
	ctr.spec = c.Clone()
	start := time.Now()
	rootfs, err := ctr.prepare(ctx, ctr.spec, &cu)
	if err != nil {
		return nil, err
	}
	ctr.timings.Prepared = time.Since(start)
	setStdio(ctr.spec.Process, pio)
	if err := s.hostcg.add(ctr.spec); err != nil {
		return nil, err
	}
	cu.Add("uncount the container's limits", func() error { return s.hostcg.drop(c.ID) })
	req, err := agentreq.CreateContainer(ctr.spec, fsshare.SharedStorage, rootfs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	pid, err := s.agent().CreateContainer(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("creating the container in the guest: %w", explain(s, err))
	}
	ctr.timings.Created = time.Since(start)
	ctr.init = newProcess(ctr, "", pio)
	ctr.init.setPid(int(pid))
	ctr.mu.Lock()
	ctr.release = cu.Release()
	ctr.mu.Unlock()
	go ctr.init.watch(startRelay(s.agent(), ctr.init.ref, pio))
	return ctr, nil
}

// setStdio makes the process's stdio what the front end gives it.
func setStdio(p *spec.Process, pio IO) {
	if p == nil {
		return // a container without a process
	}
	p.Stdin = pio.Stdin != nil
	p.Terminal = pio.Terminal
	if pio.ConsoleSize != nil {
		cs := *pio.ConsoleSize
		p.ConsoleSize = &cs
	}
}

// reserve claims the container's id in the sandbox.
func (s *Sandbox) reserve(c *Container) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return errorf(ErrFailedPrecondition, "sandbox %q is stopping", s.cfg.ID)
	}
	if _, ok := s.containers[c.id]; ok {
		return errorf(ErrAlreadyExists, "container %q exists in sandbox %q", c.id, s.cfg.ID)
	}
	s.containers[c.id] = c
	return nil
}

func (s *Sandbox) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.containers, id)
}

// Container returns the container with the given id.
func (s *Sandbox) Container(id string) (*Container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.containers[id]
	if !ok || c.init == nil {
		return nil, errorf(ErrNotFound, "container %q does not exist", id)
	}
	return c, nil
}

// Containers lists the sandbox's containers, by id.
func (s *Sandbox) Containers() []*Container {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.containerList()
}

func (s *Sandbox) containerList() []*Container {
	var out []*Container
	for _, id := range slices.Sorted(maps.Keys(s.containers)) {
		if c := s.containers[id]; c.init != nil {
			out = append(out, c)
		}
	}
	return out
}

// RemoveContainer removes the container from the guest, its processes
// killed, and undoes what CreateContainer set up: shares unbound, disks and
// functions unplugged and given back. A created init that never ran is
// reported exited.
func (s *Sandbox) RemoveContainer(ctx context.Context, id string) error {
	c, err := s.Container(id)
	if err != nil {
		return err
	}
	c.opMu.Lock()
	defer c.opMu.Unlock()
	var errs []error
	if !s.vmDead() {
		err := s.agent().RemoveContainer(ctx, id, removeTimeout)
		if err != nil && !errors.Is(err, client.ErrNotFound) && !goneWithVM(s, err) {
			errs = append(errs, fmt.Errorf("removing the container from the guest: %w", err))
		}
	}
	if now := time.Now(); c.init.stop(UnknownExit, now) {
		s.observer.ProcessExited(c.init, Exit{Code: UnknownExit, At: now})
	}
	c.mu.Lock()
	release := c.release
	c.release, c.removed = nil, true
	c.mu.Unlock()
	if release != nil {
		errs = append(errs, release.CleanCtx(ctx))
	}
	s.forget(id)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("removing container %q: %w", id, err)
	}
	return nil
}

func (s *Sandbox) vmDead() bool {
	select {
	case <-s.m.Process().Done():
		return true
	default:
		return false
	}
}

// CreateTimings are the stages of CreateContainer, from its start: the
// container's host paths, disks and functions in the VM, then the
// container created in the guest.
type CreateTimings struct {
	Prepared, Created time.Duration
}

// ID is the container's id.
func (c *Container) ID() string { return c.id }

// CreateTimings is how long creating the container took, by stage.
func (c *Container) CreateTimings() CreateTimings { return c.timings }

// Init is the container's init process.
func (c *Container) Init() *Process { return c.init }

// Status is the container's: its init process's.
func (c *Container) Status() Status { return c.init.Status() }

// Spec is the container as created in the guest.
func (c *Container) Spec() *spec.Container { return c.spec }

// Processes returns the init process and the execs.
func (c *Container) Processes() []*Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := []*Process{c.init}
	for _, id := range slices.Sorted(maps.Keys(c.execs)) {
		ps = append(ps, c.execs[id])
	}
	return ps
}

// name is the container as errors name it.
func (c *Container) name() string { return fmt.Sprintf("container %q", c.id) }

// Start runs the created container's program.
func (c *Container) Start(ctx context.Context) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if err := c.init.require("start", StatusCreated); err != nil {
		return err
	}
	if err := c.sb.checkDegraded(c.name(), "start"); err != nil {
		return err
	}
	if c.spec.Process == nil {
		return errorf(ErrFailedPrecondition, "%s has no process to start: its spec sets none (process may be left out at create, not at start)", c.name())
	}
	if err := c.sb.agent().StartContainer(ctx, c.id); err != nil {
		return fmt.Errorf("starting %s: %w", c.name(), explain(c.sb, err))
	}
	return c.init.move(StatusRunning) // fails if it exited meanwhile
}

// Pause freezes the running container's cgroup in the guest.
func (c *Container) Pause(ctx context.Context) error {
	return c.freeze(ctx, "pause", StatusRunning, StatusPaused)
}

// Resume thaws it.
func (c *Container) Resume(ctx context.Context) error {
	return c.freeze(ctx, "resume", StatusPaused, StatusRunning)
}

func (c *Container) freeze(ctx context.Context, verb string, from, to Status) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if err := c.init.require(verb, from); err != nil {
		return err
	}
	var err error
	if to == StatusPaused {
		err = c.sb.agent().PauseContainer(ctx, c.id)
	} else {
		err = c.sb.agent().ResumeContainer(ctx, c.id)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", strings.TrimSuffix(verb, "e")+"ing", c.name(), err)
	}
	return c.init.move(to)
}

// Update applies new cgroup limits to the running container in the guest.
func (c *Container) Update(ctx context.Context, r *spec.Resources) error {
	if r == nil {
		return errorf(ErrInvalidArgument, "an update of %s without resources", c.name())
	}
	if err := c.init.require("update it", StatusRunning, StatusPaused, StatusCreated); err != nil {
		return err
	}
	if err := c.sb.agent().UpdateContainer(ctx, c.id, agentreq.Resources(r)); err != nil {
		return fmt.Errorf("updating %s: %w", c.name(), err)
	}
	return c.sb.hostcg.update(c.id, r)
}
