package vm

import (
	"context"
	"sync"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/vm/attach"
)

// Machine is a running VM, booted by Boot.
type Machine struct {
	plan    Plan
	user    *qemu.User // QEMU's, nil for root: what hot plug hands over to
	proc    *qemu.Process
	qmp     *qmp.Client
	agent   *client.Client
	version client.VersionInfo
	timings Timings
	// cold are the guest results of the attachments plugged at boot.
	cold map[string]attach.Result
	// undo holds the boot's steps, in the order done; Stop runs them
	// backwards. Only Boot and Stop touch it.
	undo cleanup.Stack

	mu  sync.Mutex
	hot map[string]*hotDevice // guarded by mu: by attachment name

	stopMu  sync.Mutex
	stopped bool  // guarded by stopMu
	stopErr error // guarded by stopMu
}

// Timings are the moments of a boot, as durations since Boot began: the
// breakdown of where boot time goes.
type Timings struct {
	HostReady      time.Duration // every attachment's host side is done (virtiofsd serves, taps are open)
	QEMUStarted    time.Duration // QEMU answers QMP: its devices exist
	Restored       time.Duration // a clone's saved state was loaded and runs (clones only)
	AgentConnected time.Duration // QEMU connected the agent socket (vsock: the dial succeeded)
	AgentReady     time.Duration // the agent answered Check: the guest has booted
	Booted         time.Duration // Boot returned: QMP connected, devices set up in the guest
}

// Stop ends the VM and undoes everything Boot and Attach did: the guest
// unmounts its storages, the agent connection closes, QEMU stops (QMP quit,
// then SIGTERM, each given hypervisor.shutdown_timeout, then SIGKILL), then
// the attachments' host sides are undone, latest first (virtiofsd stopped,
// taps closed, functions given back to their host drivers), and the VM
// directory goes. ctx bounds the whole teardown. Stop is idempotent: later
// calls return the first one's result.
func (m *Machine) Stop(ctx context.Context) error {
	m.stopMu.Lock()
	defer m.stopMu.Unlock()
	if !m.stopped {
		m.stopped = true
		m.stopErr = m.undo.CleanCtx(ctx)
	}
	return m.stopErr
}

// Plan is the plan the VM was booted from.
func (m *Machine) Plan() Plan { return m.plan }

// Process is the QEMU process: its Done channel tells when the VM died, its
// tails why.
func (m *Machine) Process() *qemu.Process { return m.proc }

// Agent is the connection to the guest agent.
func (m *Machine) Agent() *client.Client { return m.agent }

// QMP is the connection to QEMU's monitor.
func (m *Machine) QMP() *qmp.Client { return m.qmp }

// Version is what the agent said it is when it answered.
func (m *Machine) Version() client.VersionInfo { return m.version }

// Timings is how long each part of the boot took.
func (m *Machine) Timings() Timings { return m.timings }

// Result is what the guest request of the attachment name gave, for one
// plugged at boot or attached since.
func (m *Machine) Result(name string) (attach.Result, bool) {
	if r, ok := m.cold[name]; ok {
		return r, true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.hot[name]; h != nil && h.plugged != nil {
		return h.result, true
	}
	return attach.Result{}, false
}

// stopQEMU quits QEMU through QMP when connected, then signals it, and
// closes QMP.
func (m *Machine) stopQEMU(ctx context.Context) error {
	var quit qemu.Quitter
	if m.qmp != nil {
		quit = m.qmp
	}
	t := m.plan.ShutdownTimeout
	_, err := m.proc.Stop(ctx, quit, qemu.StopTimeouts{Quit: t, Term: t, Kill: killWait})
	if m.qmp != nil {
		m.qmp.Close()
	}
	return err
}

// exited reports whether QEMU is gone.
func (m *Machine) exited() bool {
	select {
	case <-m.proc.Done():
		return true
	default:
		return false
	}
}
