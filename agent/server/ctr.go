package server

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/kite-vm/kite/agent/server/cgroup"
	"github.com/kite-vm/kite/agent/server/container"
)

// maxCollectedExecs bounds how many fully collected exec processes a
// container remembers (so WaitProcess can be repeated); liveness probes
// exec every few seconds for the life of a pod.
const maxCollectedExecs = 128

// ctr is a container as the service tracks it.
type ctr struct {
	id     string
	initID string

	// Set once creation is done, then read-only.
	c        *container.Container
	cg       *cgroup.Group
	devices  *deviceFilter
	storages []string // ids of the storages mounted for it

	owns podNS // guarded by the Service's mu: which of the sandbox's namespaces its init holds

	mu        sync.Mutex
	busy      string           // "creating" or "removing" while in progress; guarded by mu
	procs     map[string]*proc // by exec id, the init included; guarded by mu
	collected []*proc          // collected execs, oldest first; guarded by mu
}

// usable reports whether the container can take requests now.
func (c *ctr) usable() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy != "" {
		return fmt.Errorf("%w: container %q is %s", ErrState, c.id, c.busy)
	}
	return nil
}

// begin marks the container busy with a lifecycle step, failing if another
// step is in progress.
func (c *ctr) begin(step string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy != "" {
		return fmt.Errorf("%w: container %q is %s", ErrState, c.id, c.busy)
	}
	c.busy = step
	return nil
}

// end marks the lifecycle step done.
func (c *ctr) end() {
	c.mu.Lock()
	c.busy = ""
	c.mu.Unlock()
}

// proc returns the process named execID ("" is the init).
func (c *ctr) proc(execID string) (*proc, error) {
	if execID == "" {
		execID = c.initID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pr, ok := c.procs[execID]
	if !ok {
		return nil, fmt.Errorf("%w: process %q in container %q", ErrNotFound, execID, c.id)
	}
	return pr, nil
}

// noteCollected remembers that pr is fully collected, forgetting the
// oldest collected execs beyond the bound. The init is never forgotten.
func (c *ctr) noteCollected(pr *proc) {
	if pr.id == c.initID || !pr.collected() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.Contains(c.collected, pr) {
		return
	}
	c.collected = append(c.collected, pr)
	for len(c.collected) > maxCollectedExecs {
		old := c.collected[0]
		c.collected = c.collected[1:]
		if c.procs[old.id] == old { // the id may have been reused since
			delete(c.procs, old.id)
		}
	}
}

// lookup returns a usable container.
func (s *Service) lookup(id string) (*ctr, error) {
	if err := checkID("container", id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	c, ok := s.containers[id]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w: container %q", ErrNotFound, id)
	}
	if err := c.usable(); err != nil {
		return nil, err
	}
	return c, nil
}

// sortedContainers returns the usable containers by id.
func (s *Service) sortedContainers() []*ctr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*ctr, 0, len(s.containers))
	for _, c := range s.containers {
		if c.usable() == nil {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}
