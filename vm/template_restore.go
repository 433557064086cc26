package vm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/qemu/qmp"
)

// seedBytes is the seed a clone's agent mixes into its kernel's RNG.
const seedBytes = 64

// runClone is the rest of a clone's boot once QEMU runs: QMP first, the
// saved state loaded and run, then the agent, made unique before anything
// else, and the cold attachments set up as for any boot.
func (b *booter) runClone(ctx context.Context) *BootError {
	if err := b.dialQMP(ctx); err != nil {
		return failed(StepQMP, err)
	}
	if err := b.restore(ctx); err != nil {
		return failed(StepRestore, b.blameExit(err))
	}
	if e := b.waitAgent(ctx); e != nil {
		return e
	}
	if err := b.makeUnique(ctx); err != nil {
		return failed(StepUnique, err)
	}
	if err := b.pinCPUs(ctx); err != nil {
		return failed(StepPinning, err)
	}
	return b.setUpGuest(ctx)
}

// checkTemplateGuests refuses, in a template's VM or a clone, a device
// set up in the guest at boot: what the template's guest did with it is
// in the saved state, and its backend's side (a 9p session, a NIC's
// configuration) would not be the clone's.
func (b *booter) checkTemplateGuests() *BootError {
	if b.m.plan.Template == nil || len(b.guests) == 0 {
		return nil
	}
	return &BootError{Step: StepAttach, Attachment: b.guests[0].name,
		Err: fmt.Errorf("%w: a template's VM and its clones take only devices with nothing to set up in the guest at boot", ErrInvalid)}
}

// blameExit puts QEMU's exit in front of err when QEMU is gone: QEMU 7.2
// exits on a state it cannot load, and QMP then only says it closed.
func (b *booter) blameExit(err error) error {
	select {
	case <-b.m.proc.Done():
		return fmt.Errorf("%w: %w", exitReason(b.m.proc), err)
	case <-time.After(exitGrace):
		return err
	}
}

// restore loads a clone's saved state into the QEMU waiting for it
// (-incoming defer) and runs it; QMP is connected. x-ignore-shared must be
// on at both ends: the stream holds no RAM, which the clone maps from the
// template's file. QEMU 7.2 exits when the state does not fit its machine.
func (b *booter) restore(ctx context.Context) error {
	t := b.m.plan.Template
	ctx, cancel := context.WithTimeout(ctx, b.m.plan.Agent.DialTimeout)
	defer cancel()
	q := b.m.qmp
	f, err := os.Open(t.StatePath())
	if err != nil {
		return fmt.Errorf("opening the template's saved state: %w", err)
	}
	defer f.Close() // QEMU has its own copy
	if err := q.GetFD(ctx, stateFD, f); err != nil {
		return err
	}
	if err := q.Migration().SetCapability(ctx, qmp.CapIgnoreShared, true); err != nil {
		return err
	}
	if err := q.Migration().Incoming(ctx, "fd:"+stateFD); err != nil {
		return err
	}
	if _, err := q.Migration().Wait(ctx, migrationPoll); err != nil {
		return err
	}
	// The template was saved paused: its clones start so too.
	if err := q.Cont(ctx); err != nil {
		return err
	}
	b.m.timings.Restored = time.Since(b.start)
	return nil
}

// makeUnique sends the restored agent a seed of the host's for its
// kernel's RNG and the host's clock: a clone starts as every other clone
// of its template, which the vmgenid notification alone changes only as
// soon as the guest kernel handles it.
func (b *booter) makeUnique(ctx context.Context) error {
	seed := make([]byte, seedBytes)
	if _, err := rand.Read(seed); err != nil {
		return err
	}
	err := b.m.agent.Restored(ctx, seed, time.Now())
	if errors.Is(err, client.ErrUnimplemented) {
		return fmt.Errorf("the guest's agent cannot be made unique (no Restored request): rebuild the guest image (make guest, kite guest build): %w", err)
	}
	return err
}
