package vm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/vm/attach"
)

const (
	// killWait bounds the wait for a SIGKILLed QEMU to be reaped.
	killWait = 10 * time.Second
	// qmpDialTimeout bounds connecting to a QEMU that already answers QMP.
	qmpDialTimeout = 10 * time.Second
	// tailBytes of QEMU's output and console go into boot errors.
	tailBytes = 4096
)

// Boot applies the plan: it checks the host files the plan names, creates
// the VM directory, listens on the agent socket, does each attachment's
// host side, starts QEMU with the attachments' devices, waits for the agent
// to answer (bounded by agent.dial_timeout, cut short if QEMU exits),
// connects to QMP, pins the vCPUs and carries out the attachments' guest
// requests. Every step registers its undo; when a step fails, the steps
// before it are undone, latest first, and the error is a *BootError naming
// the step, with QEMU's output and console when QEMU had started. The undo
// has its own time budget rather than ctx, which may be what ended the
// boot.
func Boot(ctx context.Context, plan Plan) (*Machine, error) {
	m := &Machine{plan: plan, hot: map[string]*hotDevice{}, cold: map[string]attach.Result{}}
	b := &booter{m: m, start: time.Now()}
	if e := b.run(ctx); e != nil {
		return nil, b.fail(ctx, e)
	}
	m.timings.Booted = time.Since(b.start)
	return m, nil
}

// booter carries one boot's progress.
type booter struct {
	m       *Machine
	start   time.Time
	ln      *client.SerialListener // virtio-serial only
	devices []qemu.Device          // the attachments', in plan order
	guests  []pendingGuest         // their guest requests, in plan order
}

func failed(step BootStep, err error) *BootError { return &BootError{Step: step, Err: err} }

func (b *booter) run(ctx context.Context) *BootError {
	p, m := b.m.plan, b.m
	if err := p.Check(); err != nil {
		return failed(StepCheck, err)
	}
	u, err := qemu.LookupUser(p.QEMUUser)
	if err != nil {
		return failed(StepCheck, fmt.Errorf("%w: hypervisor.user: %w", ErrHost, err))
	}
	m.user = u
	if err := makeDir(p.Dir); err != nil {
		return failed(StepSandboxDir, err)
	}
	m.undo.Add("remove the VM directory", p.removeDir)
	if err := b.listenAgent(); err != nil {
		return failed(StepAgentSocket, err)
	}
	if e := b.attachHost(ctx); e != nil {
		return e
	}
	if e := b.checkTemplateGuests(); e != nil {
		return e
	}
	// Runs after QEMU is gone: a device attached since the boot has host
	// state (a binding, a virtiofsd) that must outlive QEMU's use of it.
	m.undo.AddCtx("undo the host side of hot-plugged devices", m.releaseHot)
	if err := b.startQEMU(ctx); err != nil {
		return failed(StepQEMU, err)
	}
	if t := p.Template; t != nil && t.Clone {
		return b.runClone(ctx)
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
	return b.setUpGuest(ctx)
}

// fail undoes what was done and completes the error. The tails are read
// first: the undo removes the logs.
func (b *booter) fail(ctx context.Context, e *BootError) error {
	e.Sandbox = b.m.plan.ID
	if e.Step == StepQEMU || errors.Is(e.Err, ErrQEMUExited) {
		if death := b.backendDeath(); death != nil {
			e.Err = fmt.Errorf("%w; then %w", death, e.Err)
		}
	}
	// qemu.Start's own errors carry the tails already.
	if proc := b.m.proc; proc != nil && e.Step != StepQEMU {
		e.QEMULog, e.Console = proc.LogTail(tailBytes), proc.ConsoleTail(tailBytes)
	}
	budget := 2*b.m.plan.ShutdownTimeout + killWait + 10*time.Second
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	e.Cleanup = b.m.undo.CleanCtx(uctx)
	return e
}

// backendDeath is the death of an attachment's backend process (a
// virtiofsd), for a QEMU that failed: QEMU then only says that a socket
// write failed. A backend killed at the same moment may be reaped a little
// after QEMU, so the deaths are waited for, up to exitGrace in all.
func (b *booter) backendDeath() error {
	var backends []attach.Backed
	for _, a := range b.m.plan.Attachments {
		if bk, ok := a.(attach.Backed); ok && bk.BackendDone() != nil {
			backends = append(backends, bk)
		}
	}
	if len(backends) == 0 {
		return nil
	}
	deadline := time.After(exitGrace)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, bk := range backends {
			select {
			case <-bk.BackendDone():
				return bk.BackendDeath()
			default:
			}
		}
		select {
		case <-deadline:
			return nil
		case <-tick.C:
		}
	}
}

func (b *booter) listenAgent() error {
	if b.m.plan.Agent.Transport != client.TransportSerial {
		return nil
	}
	ln, err := client.ListenSerial(b.m.plan.Agent.SocketPath)
	if err != nil {
		return err
	}
	b.ln = ln
	b.m.undo.Add("close the agent socket", ln.Close)
	return nil
}

// attachHost does the host side of every cold-plugged attachment, in plan
// order, their undos on the boot's stack.
func (b *booter) attachHost(ctx context.Context) *BootError {
	for _, a := range b.m.plan.Attachments {
		p, err := a.Attach(ctx, &b.m.undo)
		if err != nil {
			return &BootError{Step: StepAttach, Attachment: a.Name(), Err: err}
		}
		if p.Device == nil {
			return &BootError{Step: StepAttach, Attachment: a.Name(), Err: fmt.Errorf("%w: it gave no device", ErrInvalid)}
		}
		b.devices = append(b.devices, p.Device)
		if p.Guest != nil {
			b.guests = append(b.guests, pendingGuest{name: a.Name(), req: p.Guest})
		}
	}
	b.m.timings.HostReady = time.Since(b.start)
	return nil
}

func (b *booter) startQEMU(ctx context.Context) error {
	cfg := b.m.plan.QEMU
	devs, conns, err := handOverAll(append(append([]qemu.Device(nil), cfg.Devices...), b.devices...), b.m.user)
	if err != nil {
		return err
	}
	defer closeFiles(conns) // QEMU has its copies
	cfg.Devices = devs
	cl, err := cfg.Build()
	if err != nil {
		return err
	}
	proc, err := qemu.Start(ctx, cl, qemu.StartOptions{LogPath: b.m.plan.QEMULog, User: b.m.user})
	if err != nil {
		return err
	}
	b.m.proc = proc
	b.m.timings.QEMUStarted = time.Since(b.start)
	// Registered before QMP is connected: stopQEMU quits through QMP when
	// it is, and closes it.
	b.m.undo.AddCtx("stop qemu", b.m.stopQEMU)
	return nil
}

func (b *booter) dialQMP(ctx context.Context) error {
	qctx, cancel := context.WithTimeout(ctx, qmpDialTimeout)
	defer cancel()
	q, err := qmp.Dial(qctx, b.m.plan.QEMU.QMPSocket)
	if err != nil {
		return err
	}
	b.m.qmp = q
	return nil
}

// pendingGuest is a cold attachment's guest request, sent once the agent
// answers.
type pendingGuest struct {
	name string
	req  attach.Guest
}

// setUpGuest carries out the cold attachments' guest requests in plan
// order: NICs configured, functions attached, storages mounted.
func (b *booter) setUpGuest(ctx context.Context) *BootError {
	for _, g := range b.guests {
		r, _, err := b.m.carryOut(ctx, g.req, false)
		if err != nil {
			return &BootError{Step: StepGuest, Attachment: g.name, Err: err}
		}
		b.m.cold[g.name] = r
	}
	return nil
}
