package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/oci"
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
)

// store is the state root of the OCI commands, made absolute: the sandbox
// process runs in /.
func (e *env) store() (state.Store, error) {
	root, err := filepath.Abs(e.globals.root)
	if err != nil {
		return state.Store{}, err
	}
	return state.Store{Root: root}, nil
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

// status is the container's status as `kite state` reports it: stopped
// when the sandbox process is gone.
func (c *container) status() state.Status {
	return state.Status(state.OCIState(c.st, c.alive).Status)
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
	for (state.Proc{}).Alive(c.st.Pid, c.st.PidStartTime) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("container %q deleted, but its sandbox process %d has not exited: %w", c.h.ID(), c.st.Pid, ctx.Err())
		case <-time.After(5 * time.Millisecond):
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
