package qemu

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// Quitter asks QEMU to exit cleanly (QMP quit); the QMP client satisfies it.
type Quitter interface {
	Quit(ctx context.Context) error
}

// StopTimeouts bound each step of Stop. A zero Quit or Term skips that step;
// a zero Kill waits for the SIGKILL to land as long as ctx allows.
type StopTimeouts struct {
	Quit time.Duration
	Term time.Duration
	Kill time.Duration
}

// StopResult says how QEMU ended.
type StopResult int

// How Stop ended QEMU.
const (
	StillRunning StopResult = iota // Stop failed
	ExitedBefore                   // QEMU had already exited
	ExitedOnQuit
	ExitedOnTerm
	ExitedOnKill
)

func (r StopResult) String() string {
	switch r {
	case StillRunning:
		return "still running"
	case ExitedBefore:
		return "already exited"
	case ExitedOnQuit:
		return "quit"
	case ExitedOnTerm:
		return "SIGTERM"
	case ExitedOnKill:
		return "SIGKILL"
	}
	return fmt.Sprintf("StopResult(%d)", int(r))
}

// Stop ends QEMU, politely first: quit through quit (skipped when nil), then
// SIGTERM, then SIGKILL, each step given its timeout. It returns how QEMU
// ended, or StillRunning and an error if ctx ended first or QEMU survived
// SIGKILL for t.Kill.
func (p *Process) Stop(ctx context.Context, quit Quitter, t StopTimeouts) (StopResult, error) {
	if p.exited() {
		return ExitedBefore, nil
	}
	if quit != nil && t.Quit > 0 {
		qctx, cancel := context.WithTimeout(ctx, t.Quit)
		// A failed quit (no QMP connection) goes straight to SIGTERM.
		ok := quit.Quit(qctx) == nil && p.waitExit(qctx)
		cancel()
		if ok {
			return ExitedOnQuit, nil
		}
	}
	if t.Term > 0 {
		if ok, err := p.signalAndWait(ctx, syscall.SIGTERM, t.Term); ok || err != nil {
			return result(ExitedOnTerm, err)
		}
	}
	ok, err := p.signalAndWait(ctx, syscall.SIGKILL, t.Kill)
	if err == nil && !ok {
		err = fmt.Errorf("stopping qemu %d: %w %v after SIGKILL", p.Pid(), ErrStopTimeout, t.Kill)
	}
	return result(ExitedOnKill, err)
}

func result(r StopResult, err error) (StopResult, error) {
	if err != nil {
		return StillRunning, err
	}
	return r, nil
}

// signalAndWait sends sig and waits up to d (0: no limit but ctx) for the
// exit. It reports whether QEMU exited; the error is ctx's.
func (p *Process) signalAndWait(ctx context.Context, sig syscall.Signal, d time.Duration) (bool, error) {
	if err := p.Signal(sig); err == ErrExited {
		return true, nil
	}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if d > 0 {
		wctx, cancel = context.WithTimeout(ctx, d)
	}
	defer cancel()
	if p.waitExit(wctx) {
		return true, nil
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("stopping qemu %d: %w", p.Pid(), err)
	}
	return false, nil
}

// waitExit waits for QEMU's exit (true) or the end of ctx (false, unless
// QEMU exited meanwhile).
func (p *Process) waitExit(ctx context.Context) bool {
	select {
	case <-p.done:
		return true
	case <-ctx.Done():
		return p.exited()
	}
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
