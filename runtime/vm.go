package runtime

import (
	"context"
	"sync"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
)

// VM is a sandbox's running VM, booted by BootVM. Agent, QMP, Version and
// Timings are set once by BootVM and only read afterwards.
type VM struct {
	// Agent is the connection to the guest agent.
	Agent *client.Client
	// QMP is the connection to QEMU's monitor.
	QMP *qmp.Client
	// Version is what the agent said it is when it answered.
	Version client.VersionInfo
	// Timings is how long each part of the boot took.
	Timings Timings

	plan       VMPlan
	proc       *qemu.Process
	virtiofsds []*Virtiofsd
	shared     *sharedDir // nil without VMInput.SharedDir
	ports      *ports     // spare root ports for hot plug
	vols       volumes    // hot-plugged volumes

	pciMu  sync.Mutex
	hotPCI map[string]*hotPCI // guarded by pciMu: by host BDF
	pciSeq int                // guarded by pciMu

	netMu  sync.Mutex
	nics   []nic     // guarded by netMu: pod interfaces carried, in device order
	layout netLayout // the pod's routes and neighbors at boot
	netSeq int       // guarded by netMu: numbers hot-plugged NICs' ids
	// physPorts are the root ports of passed-through pod netdevs.
	physPorts []string
	undo      []undoStep // in the order done; teardown runs them backwards

	stopMu  sync.Mutex
	stopped bool  // guarded by stopMu
	stopErr error // guarded by stopMu
}

// Timings are the moments of a boot, as durations since BootVM began: the
// breakdown of where boot time goes.
type Timings struct {
	VirtiofsdReady time.Duration // every virtiofsd serves its socket (0 without virtio-fs shares)
	QEMUStarted    time.Duration // QEMU answers QMP: its devices exist
	AgentConnected time.Duration // QEMU connected the agent socket (vsock: the dial succeeded)
	AgentReady     time.Duration // the agent answered Check: the guest has booted
	Booted         time.Duration // BootVM returned: QMP connected too
}

// undoStep reverses one step of the boot. It takes a ctx, unlike the
// cleanup.Stack it is run through: stopping QEMU and virtiofsd waits, bounded
// by the caller of Stop, or by a detached budget when a failed boot rolls back.
type undoStep struct {
	name string
	fn   func(ctx context.Context) error
}

func (vm *VM) pushUndo(name string, fn func(ctx context.Context) error) {
	vm.undo = append(vm.undo, undoStep{name: name, fn: fn})
}

// pushUndoSimple registers an undo that does not wait on anything.
func (vm *VM) pushUndoSimple(name string, fn func() error) {
	vm.pushUndo(name, func(context.Context) error { return fn() })
}

// teardown undoes every step done so far, latest first, all of them even
// when some fail.
func (vm *VM) teardown(ctx context.Context) error {
	var s cleanup.Stack
	for _, u := range vm.undo {
		s.Add(u.name, func() error { return u.fn(ctx) })
	}
	vm.undo = nil
	return s.Clean()
}

// Stop ends the VM and removes everything BootVM made: it closes the agent
// connection, stops QEMU (QMP quit, then SIGTERM, each given
// hypervisor.shutdown_timeout, then SIGKILL), stops each virtiofsd, undoes
// the read-only bind mounts and removes the sockets, logs and the sandbox
// directory. Stop is idempotent: later calls return the first one's result
// without doing anything.
func (vm *VM) Stop(ctx context.Context) error {
	vm.stopMu.Lock()
	defer vm.stopMu.Unlock()
	if !vm.stopped {
		vm.stopped = true
		vm.stopErr = vm.teardown(ctx)
	}
	return vm.stopErr
}

// Pid is QEMU's process id.
func (vm *VM) Pid() int { return vm.proc.Pid() }

// Process is the QEMU process: its Done channel tells when the VM died, its
// tails why.
func (vm *VM) Process() *qemu.Process { return vm.proc }

// Virtiofsd returns the virtiofsd of each virtio-fs share, in share order;
// each one's Done channel tells when its share died.
func (vm *VM) Virtiofsd() []*Virtiofsd { return append([]*Virtiofsd(nil), vm.virtiofsds...) }

// Plan is the plan the VM was booted from.
func (vm *VM) Plan() VMPlan { return vm.plan }

// stopQEMU quits QEMU through QMP when connected, then signals it, and
// closes QMP.
func (vm *VM) stopQEMU(ctx context.Context) error {
	var quit qemu.Quitter
	if vm.QMP != nil {
		quit = vm.QMP
	}
	t := vm.plan.ShutdownTimeout
	_, err := vm.proc.Stop(ctx, quit, qemu.StopTimeouts{Quit: t, Term: t, Kill: killWait})
	if vm.QMP != nil {
		vm.QMP.Close()
	}
	return err
}
