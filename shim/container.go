package shim

import "sync"

// container is one task: its init process and its execs.
type container struct {
	id, bundle string
	// rootfs is the bundle's rootfs directory when the shim mounted the
	// snapshot on it ("" when containerd gave no mounts).
	rootfs string
	init   *process
	// pci are the host PCI functions hot-plugged for the container.
	pci []string

	mu    sync.Mutex
	execs map[string]*process // guarded by mu
}

func (c *container) exec(id string) (*process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.execs[id]
	if !ok {
		return nil, errorf(ErrNotFound, "task %q has no exec %q", c.id, id)
	}
	return p, nil
}

// addExec registers an exec under a free id.
func (c *container) addExec(p *process) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.execs[p.execID]; ok {
		return errorf(ErrAlreadyExists, "task %q already has exec %q", c.id, p.execID)
	}
	c.execs[p.execID] = p
	return nil
}

func (c *container) removeExec(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.execs, id)
}

// processes returns the init process and the execs.
func (c *container) processes() []*process {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := []*process{c.init}
	for _, p := range c.execs {
		ps = append(ps, p)
	}
	return ps
}
