package container

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// SignalAll sends sig to every live process of the container: every member
// of its mount namespace, which covers processes an exec left behind in a
// pid namespace the container shares.
func (c *Container) SignalAll(sig syscall.Signal) error {
	if _, err := signalNamespaceMembers(nsMount, c.mntNS, sig); err != nil {
		return fmt.Errorf("signalling container %q: %w", c.id, err)
	}
	return nil
}

// Destroy kills every process of the container, waits until they are gone
// and closes their stdio. Nothing is left to unmount: every mount the stage
// made lives in the container's mount namespace, which the kernel frees with
// its last process. A Destroy cut short by ctx can be called again.
func (c *Container) Destroy(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateDestroyed {
		return nil
	}
	if err := c.destroy(ctx); err != nil {
		return fmt.Errorf("destroying container %q: %w", c.id, err)
	}
	c.state = stateDestroyed
	return nil
}

func (c *Container) destroy(ctx context.Context) error {
	if c.initStage != nil {
		c.initStage.sync.close()
		c.initStage = nil
	}
	procs := []*Process{c.init}
	for _, p := range c.execs {
		procs = append(procs, p)
	}
	// With a pid namespace of its own, killing the init kills the rest.
	for _, p := range procs {
		if err := p.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, ErrExited) {
			return err
		}
	}
	if err := c.killMembers(ctx); err != nil {
		return err
	}
	for _, p := range procs {
		if _, err := p.Wait(ctx); err != nil {
			return err
		}
	}
	var errs []error
	for _, p := range procs {
		errs = append(errs, p.Close())
		p.handle.Release() // its pidfd: the process is gone
	}
	return errors.Join(errs...)
}

// killMembers SIGKILLs members of the mount namespace until none is left.
func (c *Container) killMembers(ctx context.Context) error {
	for {
		n, err := signalNamespaceMembers(nsMount, c.mntNS, syscall.SIGKILL)
		if err != nil || n == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d processes still alive: %w", n, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
