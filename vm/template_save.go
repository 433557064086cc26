package vm

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kite-vm/kite/qemu/qmp"
)

const (
	// stateFD is the name the saved state's descriptor goes by in QEMU.
	stateFD = "template-state"
	// migrationPoll paces query-migrate: a save or a load of the device
	// state alone takes tens of milliseconds.
	migrationPoll = 5 * time.Millisecond
	// portCloseWait bounds the wait for the guest to close its end of the
	// agent connection before a save.
	portCloseWait = 30 * time.Second
)

// SaveInfo is what saving a template took.
type SaveInfo struct {
	// Quiesce is the wait for the agent to drop the host's connection.
	Quiesce time.Duration
	// Save is the migration of the device state into the state file.
	Save time.Duration
	// StateBytes is the size of the state file.
	StateBytes int64
}

// SaveTemplate saves a template's VM (booted with Input.Template, not a
// clone) into its template directory: the device state into the state
// file, the guest RAM staying where the guest wrote it, in the RAM file
// (x-ignore-shared leaves it out of the stream). First the agent
// connection is closed and the guest's agent seen to let go of its port
// (QEMU's VSERPORT_CHANGE): saved then, the agent of every clone waits for
// a connection, and takes its own host's as a new one. The VM stays
// paused; Stop ends it.
func (m *Machine) SaveTemplate(ctx context.Context) (SaveInfo, error) {
	t := m.plan.Template
	if t == nil || t.Clone {
		return SaveInfo{}, fmt.Errorf("%w: sandbox %q is not a template's own VM", ErrInvalid, m.plan.ID)
	}
	var info SaveInfo
	start := time.Now()
	if err := m.dropAgent(ctx); err != nil {
		return info, fmt.Errorf("saving template of sandbox %q: %w", m.plan.ID, err)
	}
	info.Quiesce = time.Since(start)
	start = time.Now()
	if err := m.saveState(ctx, t.StatePath()); err != nil {
		return info, fmt.Errorf("saving template of sandbox %q: %w", m.plan.ID, err)
	}
	info.Save = time.Since(start)
	fi, err := os.Stat(t.StatePath())
	if err != nil {
		return info, err
	}
	info.StateBytes = fi.Size()
	return info, nil
}

// dropAgent closes the host's agent connection and waits for the guest's
// agent to close its port, which it does once it read the end of the
// connection.
func (m *Machine) dropAgent(ctx context.Context) error {
	events, cancel := m.qmp.Subscribe(8, "VSERPORT_CHANGE")
	defer cancel()
	m.agent.Close()
	wait := time.NewTimer(portCloseWait)
	defer wait.Stop()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return fmt.Errorf("waiting for the guest to close the agent port: %w", qmp.ErrClosed)
			}
			var port struct {
				ID   string `json:"id"`
				Open bool   `json:"open"`
			}
			if err := e.DecodeData(&port); err != nil {
				return err
			}
			if port.ID == agentDeviceID && !port.Open {
				return nil
			}
		case <-wait.C:
			return fmt.Errorf("the guest's agent did not close its port within %s of the host's", portCloseWait)
		case <-ctx.Done():
			return ctx.Err()
		case <-m.proc.Done():
			return exitReason(m.proc)
		}
	}
}

// saveState stops the vCPUs and migrates the device state into a new
// file at path, which QEMU gets as a descriptor.
func (m *Machine) saveState(ctx context.Context, path string) (err error) {
	if err := m.qmp.Stop(ctx); err != nil {
		return err
	}
	if err := m.qmp.Migration().SetCapability(ctx, qmp.CapIgnoreShared, true); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("creating the state file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if err := m.qmp.GetFD(ctx, stateFD, f); err != nil {
		return err
	}
	if err := m.qmp.Migration().Start(ctx, "fd:"+stateFD); err != nil {
		return err
	}
	if _, err := m.qmp.Migration().Wait(ctx, migrationPoll); err != nil {
		return err
	}
	return f.Sync()
}
