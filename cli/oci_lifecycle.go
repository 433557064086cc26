package cli

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/kite-vm/kite/internal/logging"
	"github.com/kite-vm/kite/oci"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runStart runs the program of a created container.
func runStart(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "start", "ID")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, err := needID(fs.Args())
	if err != nil {
		return err
	}
	return e.start(ctx, id)
}

func (e *env) start(ctx context.Context, id string) error {
	c, err := e.openContainer(ctx, id, true)
	if err != nil {
		return err
	}
	defer c.unlock()
	if s := c.status(); s != state.StatusCreated {
		return fmt.Errorf("container %s is %s, cannot start", id, s)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	hooks := c.st.Hooks
	if err := oci.RunHooks(ctx, oci.HookStartContainer, oci.HookStartContainer.Of(hooks), hookState(c.st, specs.StateCreated), c.st.Bundle); err != nil {
		// The runtime spec: stop the container; delete comes next.
		return errors.Join(err, cl.Kill(ctx, syscall.SIGKILL, true))
	}
	if err := cl.Start(ctx); err != nil {
		return err
	}
	if err := oci.RunHooks(ctx, oci.HookPoststart, oci.HookPoststart.Of(hooks), hookState(c.st, specs.StateRunning), c.st.Bundle); err != nil {
		logging.From(ctx).Warn("a poststart hook failed", logging.KeyContainer, id, "err", err)
		fmt.Fprintf(e.io.Err, "kite start: warning: %v\n", err)
	}
	return nil
}

// runKill signals the container's init process, or all its processes.
func runKill(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "kill", "[--all] ID [SIGNAL]")
	all := fs.Bool("all", false, "signal every process of the container")
	fs.BoolVar(all, "a", false, "short for --all")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		return fmt.Errorf("%w: want ID [SIGNAL]", errUsage)
	}
	sig := syscall.SIGTERM
	if fs.NArg() == 2 {
		s, err := spec.ParseSignal(fs.Arg(1))
		if err != nil {
			return err
		}
		sig = s
	}
	c, err := e.openContainer(ctx, fs.Arg(0), true)
	if err != nil {
		return err
	}
	defer c.unlock()
	if s := c.status(); s == state.StatusStopped || s == state.StatusCreating {
		return fmt.Errorf("container %s is %s: container not running", c.h.ID(), s)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	return cl.Kill(ctx, sig, *all)
}

// runPause freezes a running container.
func runPause(ctx context.Context, e *env, args []string) error {
	return e.controlOne(ctx, "pause", args, func(ctx context.Context, c *container) error {
		cl, err := c.client()
		if err != nil {
			return err
		}
		return cl.Pause(ctx)
	})
}

// runResume thaws a paused container.
func runResume(ctx context.Context, e *env, args []string) error {
	return e.controlOne(ctx, "resume", args, func(ctx context.Context, c *container) error {
		cl, err := c.client()
		if err != nil {
			return err
		}
		return cl.Resume(ctx)
	})
}

// controlOne runs a command that takes only an id, with the container
// locked.
func (e *env) controlOne(ctx context.Context, name string, args []string, fn func(context.Context, *container) error) error {
	fs := newFlags(e, name, "ID")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, err := needID(fs.Args())
	if err != nil {
		return err
	}
	c, err := e.openContainer(ctx, id, true)
	if err != nil {
		return err
	}
	defer c.unlock()
	return fn(ctx, c)
}

// runDelete removes a container and its VM.
func runDelete(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "delete", "[--force] ID")
	force := fs.Bool("force", false, "kill the container if it still runs")
	fs.BoolVar(force, "f", false, "short for --force")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, err := needID(fs.Args())
	if err != nil {
		return err
	}
	err = e.delete(ctx, id, *force)
	if *force && errors.Is(err, state.ErrNotFound) {
		return nil // runc: deleting what is not there, by force, succeeds
	}
	return err
}

func (e *env) delete(ctx context.Context, id string, force bool) error {
	c, err := e.openContainer(ctx, id, true)
	if err != nil {
		return err
	}
	defer c.unlock()
	switch s := c.status(); s {
	case state.StatusRunning, state.StatusPaused:
		if !force {
			return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, s)
		}
	}
	// A container whose proxy is gone is stopping: its sandbox process,
	// which kills it, may not have recorded the exit yet.
	if err := c.remove(ctx, force || c.proxyGone()); err != nil {
		return err
	}
	if err := oci.RunHooks(ctx, oci.HookPoststop, oci.HookPoststop.Of(c.st.Hooks), hookState(c.st, specs.StateStopped), c.st.Bundle); err != nil {
		logging.From(ctx).Warn("a poststop hook failed", logging.KeyContainer, id, "err", err)
		fmt.Fprintf(e.io.Err, "kite delete: warning: %v\n", err)
	}
	return nil
}
