package runtime

import (
	"context"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
)

const (
	// killWait bounds the wait for a SIGKILLed QEMU to be reaped.
	killWait = 10 * time.Second
	// qmpDialTimeout bounds connecting to a QEMU that already answers QMP.
	qmpDialTimeout = 10 * time.Second
	// tailBytes of QEMU's output and console go into boot errors.
	tailBytes = 4096
)

// BootVM applies the plan: it checks the host files the plan names, creates
// the sandbox directory, listens on the agent socket, bind-mounts read-only
// shares, starts each virtiofsd, starts QEMU, waits for the agent to answer
// (bounded by agent.dial_timeout, cut short if QEMU exits) and connects to
// QMP. Every step registers its undo; when a step fails, the steps before it
// are undone, latest first, and the error is a *BootError naming the step,
// with QEMU's output and console when QEMU had started. The undo has its own
// time budget rather than ctx, which may be what ended the boot.
func BootVM(ctx context.Context, plan VMPlan) (*VM, error) {
	// The device ports come first and are taken: the rest are spares.
	vm := &VM{plan: plan, ports: newPorts(plan.QEMU.RootPorts[len(plan.PCI):])}
	vm.vols = volumes{byName: map[string]*volume{}, slots: plan.NinePSlots, byContainer: map[string][]string{}}
	vm.hotPCI = map[string]*hotPCI{}
	b := &booter{vm: vm, start: time.Now()}
	if e := b.run(ctx); e != nil {
		return nil, b.fail(ctx, e)
	}
	b.vm.Timings.Booted = time.Since(b.start)
	return b.vm, nil
}

// booter carries one boot's progress.
type booter struct {
	vm    *VM
	start time.Time
	ln    *client.SerialListener // virtio-serial only
}

func failed(step BootStep, err error) *BootError { return &BootError{Step: step, Err: err} }

func (b *booter) run(ctx context.Context) *BootError {
	p := b.vm.plan
	if err := p.Check(); err != nil {
		return failed(StepCheck, err)
	}
	if err := makeSandboxDir(p.Dir); err != nil {
		return failed(StepSandboxDir, err)
	}
	b.vm.pushUndo("remove sandbox directory", func(context.Context) error { return p.removeSandboxDir() })
	if err := b.makeSharedDir(); err != nil {
		return failed(StepSharedDir, err)
	}
	if err := b.makeNinePSlots(); err != nil {
		return failed(StepSharedDir, err)
	}
	b.vm.pushUndo("remove hot-plugged volumes", b.vm.removeVolumes)
	if err := b.listenAgent(); err != nil {
		return failed(StepAgentSocket, err)
	}
	if e := b.startVirtiofsd(ctx); e != nil {
		return e
	}
	if err := b.attachNetwork(); err != nil {
		return failed(StepNetwork, err)
	}
	b.vm.pushUndoSimple("restore hot-plugged PCI functions", b.vm.restoreHotPCI)
	if err := b.bindPCIDevices(); err != nil {
		return failed(StepPCIDevices, err)
	}
	if err := b.startQEMU(ctx); err != nil {
		return failed(StepQEMU, err)
	}
	if e := b.waitAgent(ctx); e != nil {
		return e
	}
	if err := b.dialQMP(ctx); err != nil {
		return failed(StepQMP, err)
	}
	if err := b.pinCPUs(ctx); err != nil {
		return failed(StepPinning, err)
	}
	if err := b.configureNetwork(ctx); err != nil {
		return failed(StepGuestNetwork, err)
	}
	return nil
}

// fail undoes what was done and completes the error. The tails are read
// first: the undo removes the logs.
func (b *booter) fail(ctx context.Context, e *BootError) error {
	e.Sandbox = b.vm.plan.ID
	// qemu.Start's own errors carry the tails already.
	if proc := b.vm.proc; proc != nil && e.Step != StepQEMU {
		e.QEMULog, e.Console = proc.LogTail(tailBytes), proc.ConsoleTail(tailBytes)
	}
	budget := 2*b.vm.plan.ShutdownTimeout + killWait + 10*time.Second
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	e.Cleanup = b.vm.teardown(uctx)
	return e
}

func (b *booter) listenAgent() error {
	if b.vm.plan.Agent.Transport != client.TransportSerial {
		return nil
	}
	ln, err := client.ListenSerial(b.vm.plan.Agent.SocketPath)
	if err != nil {
		return err
	}
	b.ln = ln
	b.vm.pushUndo("close agent socket", func(context.Context) error { return ln.Close() })
	return nil
}

func (b *booter) startVirtiofsd(ctx context.Context) *BootError {
	for _, vp := range b.vm.plan.Virtiofsd {
		if vp.ReadOnlyBind != "" {
			if err := bindReadOnly(vp.HostPath, vp.ReadOnlyBind); err != nil {
				return &BootError{Step: StepBindMount, Share: vp.Tag, Err: err}
			}
			b.vm.pushUndo("unmount read-only share "+vp.Tag, func(context.Context) error { return unbind(vp.ReadOnlyBind) })
		}
		v, err := StartVirtiofsd(ctx, vp)
		if err != nil {
			return &BootError{Step: StepVirtiofsd, Share: vp.Tag, Err: err}
		}
		b.vm.virtiofsds = append(b.vm.virtiofsds, v)
		b.vm.pushUndo("stop virtiofsd for share "+vp.Tag, func(ctx context.Context) error {
			return v.Stop(ctx, b.vm.plan.ShutdownTimeout)
		})
	}
	if len(b.vm.plan.Virtiofsd) > 0 {
		b.vm.Timings.VirtiofsdReady = time.Since(b.start)
	}
	return nil
}

func (b *booter) startQEMU(ctx context.Context) error {
	cl, err := b.vm.plan.QEMU.Build()
	if err != nil {
		return err
	}
	proc, err := qemu.Start(ctx, cl, qemu.StartOptions{LogPath: b.vm.plan.QEMULog})
	if err != nil {
		return err
	}
	b.vm.proc = proc
	b.vm.Timings.QEMUStarted = time.Since(b.start)
	// Registered before QMP is connected: stopQEMU quits through QMP when
	// it is, and closes it.
	b.vm.pushUndo("stop qemu", b.vm.stopQEMU)
	return nil
}

func (b *booter) dialQMP(ctx context.Context) error {
	qctx, cancel := context.WithTimeout(ctx, qmpDialTimeout)
	defer cancel()
	q, err := qmp.Dial(qctx, b.vm.plan.QEMU.QMPSocket)
	if err != nil {
		return err
	}
	b.vm.QMP = q
	return nil
}
