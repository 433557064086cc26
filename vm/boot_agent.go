package vm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/qemu"
)

// exitGrace is how long a failed agent wait looks for QEMU's exit to blame
// it: the agent connection closes a moment before QEMU is reaped.
const exitGrace = 500 * time.Millisecond

// waitAgent connects to the agent and waits until it answers, bounded by
// agent.dial_timeout and given up as soon as QEMU exits (a guest that
// panics ends QEMU: -no-reboot).
func (b *booter) waitAgent(ctx context.Context) *BootError {
	a := b.m.plan.Agent
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wctx, cancelT := context.WithTimeoutCause(wctx, a.DialTimeout,
		fmt.Errorf("the agent did not answer within agent.dial_timeout (%s)", a.DialTimeout))
	defer cancelT()
	proc := b.m.proc
	go func() {
		select {
		case <-proc.Done():
			cancel(exitReason(proc))
		case <-wctx.Done():
		}
	}()

	conn, err := b.connectAgent(wctx)
	if err != nil {
		return failed(StepAgentConnect, b.blame(wctx, err))
	}
	opts := []client.Option{client.WithCallTimeout(a.CallTimeout)}
	if a.Transport == client.TransportSerial {
		// Over virtio-serial a Check sent before the guest opens its port
		// waits in QEMU and is answered when the agent starts, so one
		// attempt as long as the dial timeout is enough; short attempts
		// would only leave stale requests behind (each answered late and
		// logged by ttrpc as "received message on inactive stream").
		opts = append(opts, client.WithReadyBackoff(a.DialTimeout, a.DialTimeout))
	}
	agent := client.New(conn, opts...)
	b.m.agent = agent
	b.m.timings.AgentConnected = time.Since(b.start)
	b.m.undo.Add("close the agent connection", agent.Close)

	if b.m.version, err = agent.WaitReady(wctx); err != nil {
		return failed(StepAgentReady, b.blame(wctx, err))
	}
	// Undone before the connection closes and QEMU quits: the guest
	// unmounts its storages, writing back what its page cache holds for
	// the disks, which a QMP quit would otherwise drop.
	b.m.undo.AddCtx("flush the guest's storages", b.m.flushGuest)
	b.m.timings.AgentReady = time.Since(b.start)
	return nil
}

func (b *booter) connectAgent(ctx context.Context) (net.Conn, error) {
	a := b.m.plan.Agent
	if a.Transport == client.TransportVsock {
		return client.DialVsock(ctx, a.GuestCID, a.VsockPort)
	}
	return b.ln.Accept(ctx)
}

// blame puts why the wait ended in front of err: QEMU's exit or the dial
// timeout.
func (b *booter) blame(wctx context.Context, err error) error {
	if wctx.Err() == nil {
		// The connection closed: usually QEMU exited, reaped a moment later.
		select {
		case <-b.m.proc.Done():
			return fmt.Errorf("%w: %w", exitReason(b.m.proc), err)
		case <-time.After(exitGrace):
			return err
		}
	}
	if cause := context.Cause(wctx); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}

// guestFlushTimeout bounds the guest's unmounts at stop.
const guestFlushTimeout = 10 * time.Second

// flushGuest asks the agent to end the containers and unmount every
// storage. It is best effort: a guest that is gone or does not answer in
// time is stopped anyway, as it would be without this step.
func (m *Machine) flushGuest(ctx context.Context) error {
	if m.exited() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, guestFlushTimeout)
	defer cancel()
	m.agent.DestroySandbox(ctx, guestFlushTimeout/2)
	return nil
}

// exitReason says how QEMU ended, for a boot it cut short.
func exitReason(proc *qemu.Process) error {
	if err := proc.ExitErr(); err != nil {
		return fmt.Errorf("%w: %v", ErrQEMUExited, err)
	}
	return fmt.Errorf("%w with status 0: the guest powered off or rebooted", ErrQEMUExited)
}
