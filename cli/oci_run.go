package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kite-vm/kite/internal/logging"
)

// runRun creates and starts a container; in the foreground (without
// --detach) it waits for the container's process, deletes the container
// and exits with the process's exit code.
func runRun(ctx context.Context, e *env, args []string) error {
	var o createOptions
	fs := o.register(e, "run")
	detach := fs.Bool("detach", false, "return once the container runs, leaving it to kite kill and kite delete")
	fs.BoolVar(detach, "d", false, "short for --detach")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id, err := needID(fs.Args())
	if err != nil {
		return err
	}
	sio := syncIO(e.io)
	var console *consoleRelay
	if !*detach && o.consoleSocket == "" {
		// A terminal and nobody to hand it to: relay it through ours.
		if _, plan, _, err := loadBundle(id, o.bundle); err == nil && plan.Terminal {
			if console, err = startConsoleRelay(sio); err != nil {
				return err
			}
			defer console.close()
			o.consoleSocket = console.socket
		}
	}
	stdio, err := daemonStdio(sio, !*detach)
	if err != nil {
		return err
	}
	defer stdio.close()
	if _, err := e.create(ctx, id, o, stdio.files); err != nil {
		return err
	}
	stdio.close() // the sandbox process has its copies
	if err := e.start(ctx, id); err != nil {
		return errors.Join(err, e.deleteDetached(id))
	}
	if *detach {
		return nil
	}
	code, err := e.wait(ctx, id)
	err = errors.Join(err, e.deleteDetached(id))
	stdio.wait()
	if console != nil {
		console.wait()
	}
	if err != nil {
		return err
	}
	if code != 0 {
		return exitCodeError{code: code}
	}
	return nil
}

// wait waits for the container's process to exit and returns its code.
// When ctx ends first (the CLI was interrupted), the container is killed.
func (e *env) wait(ctx context.Context, id string) (int, error) {
	c, err := e.openContainer(ctx, id, false)
	if err != nil {
		return 0, err
	}
	cl, err := c.client()
	if err != nil {
		return 0, err
	}
	code, err := cl.WaitExec(ctx, "")
	if err != nil && ctx.Err() != nil {
		logging.From(ctx).Warn("interrupted: killing the container", logging.KeyContainer, id)
		return 0, fmt.Errorf("container %s: %w", id, ctx.Err())
	}
	return code, err
}

// deleteDetached deletes a container by force, with a time budget of its
// own: it runs when ctx may have ended.
func (e *env) deleteDetached(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return e.delete(ctx, id, true)
}
