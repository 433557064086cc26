package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/oci"
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
)

// store is the state root of the OCI commands, made absolute: the sandbox
// process runs in /.
func (e *env) store() (state.Store, error) {
	root, err := e.stateRoot(nil)
	if err != nil {
		return state.Store{}, err
	}
	return state.Store{Root: root}, nil
}

// stateRoot is --root, else the configuration's runtime.root (cfg, or
// the effective configuration when cfg is nil), made absolute.
func (e *env) stateRoot(cfg *configs.Config) (string, error) {
	root := e.globals.root
	if root == "" {
		if cfg == nil {
			var err error
			if cfg, err = e.config(); err != nil {
				return "", err
			}
		}
		root = cfg.Runtime.Root
	}
	return filepath.Abs(root)
}

// container is a container opened by a command, locked when it asked.
type container struct {
	h     *state.Handle
	st    state.State
	alive bool // the sandbox process runs
}

// openContainer opens id's state, after taking its lock when lock is set
// (the caller then calls unlock).
func (e *env) openContainer(ctx context.Context, id string, lock bool) (*container, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: need a container id", errUsage)
	}
	store, err := e.store()
	if err != nil {
		return nil, err
	}
	h, err := store.Open(id)
	if err != nil {
		return nil, err
	}
	if lock {
		if err := h.Lock(ctx); err != nil {
			return nil, err
		}
	}
	st, err := h.Read()
	if err != nil {
		h.Unlock()
		return nil, err
	}
	return &container{h: h, st: st, alive: state.Proc{}.Alive(st.Pid, st.PidStartTime)}, nil
}

func (c *container) unlock() { c.h.Unlock() }

// sandboxDir is the container's sandbox directory.
func (c *container) sandboxDir() string {
	if c.st.SandboxDir == "" {
		return c.h.Dir()
	}
	return c.st.SandboxDir
}

// status is the container's status as `kite state` reports it: stopped
// when the sandbox process or the init proxy is gone.
func (c *container) status() state.Status {
	return state.Status(state.OCIState(c.st, c.st.Alive(state.Proc{})).Status)
}

// proxyGone says the container's init proxy has exited while its sandbox
// process runs: the init has exited, or is being killed because the
// proxy was (oci.RunInitProxy).
func (c *container) proxyGone() bool {
	return c.alive && c.st.InitPid > 0 && !proxyAlive(c.st)
}

// client returns the control client of a running sandbox process.
func (c *container) client() (*control.Client, error) {
	if !c.alive || c.st.ControlSocket == "" {
		return nil, fmt.Errorf("container %q is not running (its sandbox process is gone)", c.h.ID())
	}
	return control.NewClient(c.st.ControlSocket), nil
}

// shutdownWait bounds the wait for a sandbox process to exit after it
// answered a Shutdown.
const shutdownWait = 10 * time.Second

// remove deletes the container: through its sandbox process when it runs,
// or by cleaning up after it when it is gone. It returns once the sandbox
// process has exited, so that nothing of the container is left.
func (c *container) remove(ctx context.Context, force bool) error {
	if !c.alive {
		return oci.CleanupDead(ctx, c.h, c.st)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	if err := cl.Shutdown(ctx, force); err != nil {
		if errors.Is(err, control.ErrUnavailable) && !(state.Proc{}).Alive(c.st.Pid, c.st.PidStartTime) {
			return oci.CleanupDead(ctx, c.h, c.st) // it died meanwhile
		}
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, shutdownWait)
	defer cancel()
	for _, p := range []struct {
		what  string
		pid   int
		start uint64
	}{{"sandbox process", c.st.Pid, c.st.PidStartTime}, {"init proxy", c.st.InitPid, c.st.InitPidStartTime}} {
		for p.pid > 0 && (state.Proc{}).Alive(p.pid, p.start) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("container %q deleted, but its %s %d has not exited: %w", c.h.ID(), p.what, p.pid, ctx.Err())
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return nil
}

// needID returns the one positional argument, the container id.
func needID(args []string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("%w: want one container id, got %d arguments", errUsage, len(args))
	}
	return args[0], nil
}
