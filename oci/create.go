package oci

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/oci/state"
	"github.com/kite-vm/kite/runtime"
	ocispec "github.com/kite-vm/kite/runtime/oci"
)

// stopBudget bounds the teardown of a VM, which must not depend on the ctx
// of whatever asked for it (a create that failed because ctx ended, a
// client that went away).
const stopBudget = 30 * time.Second

// create does everything up to serving: each step registers its undo, and
// a failure undoes the steps before it, so that nothing is left but the
// state directory `kite create` reserved and removes.
func create(ctx context.Context, cfg DaemonConfig) (*daemon, error) {
	plan, err := load(cfg)
	if err != nil {
		return nil, err
	}
	h, err := cfg.Store.Open(cfg.ID)
	if err != nil {
		return nil, err
	}
	st, err := h.Read()
	if err != nil {
		return nil, err
	}
	var cu cleanup.Stack
	defer func() {
		if err := cu.Clean(); err != nil {
			cfg.Logger.Error("undoing a failed create", "err", err)
		}
	}()
	vm, err := bootVM(ctx, cfg, h, plan, &cu)
	if err != nil {
		return nil, err
	}
	d := &daemon{id: cfg.ID, log: cfg.Logger, handle: h, vm: vm, agent: vm.Agent, stdio: cfg.Stdio, execs: map[string]*proc{}}
	booted := time.Now()
	if err := d.createContainer(ctx, cfg, plan, &cu); err != nil {
		return nil, err
	}
	cfg.Logger.Debug("sandbox created", "virtiofsd_ready", vm.Timings.VirtiofsdReady, "qemu_started", vm.Timings.QEMUStarted,
		"agent_ready", vm.Timings.AgentReady, "booted", vm.Timings.Booted, "container_created", time.Since(booted))
	if d.ln, err = Listen(filepath.Join(h.Dir(), ControlSocketName)); err != nil {
		return nil, err
	}
	cu.Add("closing the control socket", func() error { return d.ln.Close() })
	if d.st, err = d.createdState(st, plan); err != nil {
		return nil, err
	}
	if err := h.Write(d.st); err != nil {
		return nil, err
	}
	d.startWatchers()
	cu.Release()
	return d, nil
}

// bootVM plans the VM, records what a cleanup after a crash needs, and
// boots it.
func bootVM(ctx context.Context, cfg DaemonConfig, h *state.Handle, plan *ocispec.Plan, cu *cleanup.Stack) (*runtime.VM, error) {
	dax, err := daxVolumes(plan)
	if err != nil {
		return nil, err
	}
	assigned, err := allocateDevices(ctx, cfg, plan, cu)
	if err != nil {
		return nil, err
	}
	cpuset, err := hostCPUSet(plan)
	if err != nil {
		return nil, err
	}
	vmPlan, err := runtime.PlanVM(cfg.Config, runtime.VMInput{
		ID: cfg.ID, Dir: vmDir(h), Host: runtime.DetectHost(""), SharedDir: true,
		NetnsPath: plan.NetnsPath, DAXVolumes: dax, PCIDevices: bdfsOf(assigned), CPUSet: cpuset,
		NUMANode: devicesNUMANode(assigned),
	})
	if err != nil {
		return nil, fmt.Errorf("planning the VM: %w", err)
	}
	restores, err := pciRestores(bdfsOf(assigned))
	if err != nil {
		return nil, err
	}
	if err := writeRecord(h, vmPlan, restores, allocDirIf(cfg, len(assigned))); err != nil {
		return nil, err
	}
	cu.Add("removing the VM record", func() error { return removeRecord(h) })
	vm, err := runtime.BootVM(ctx, vmPlan)
	if err != nil {
		return nil, err
	}
	cu.Add("stopping the VM", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
		defer cancel()
		return vm.Stop(ctx)
	})
	return vm, nil
}

// createContainer creates the sandbox and the container in the guest, with
// the terminal handed to the console socket first.
func (d *daemon) createContainer(ctx context.Context, cfg DaemonConfig, plan *ocispec.Plan, cu *cleanup.Stack) error {
	req := plan.Request
	storages := append([]*protocol.Storage{d.vm.Plan().Mounts[0].Storage(runtime.SharedStorage, "")}, d.vm.Plan().DAXStorages()...)
	if err := d.agent.CreateSandbox(ctx, &protocol.CreateSandboxRequest{
		SandboxId: d.id, Hostname: req.GetHostname(), Storages: storages,
	}); err != nil {
		return fmt.Errorf("creating the sandbox in the guest: %w", err)
	}
	if err := d.vm.PrepareContainer(ctx, d.id, plan); err != nil {
		return err
	}
	if err := d.rewriteDeviceEnv(ctx, cfg, plan); err != nil {
		return err
	}
	if plan.Terminal {
		t, err := openTerminal(true)
		if err != nil {
			return err
		}
		cu.Add("closing the terminal", func() error { t.close(); return nil })
		if err := SendConsole(cfg.ConsoleSocket, t.master); err != nil {
			return err
		}
		t.master.Close() // the caller holds it now
		d.term = t
		if sz := t.size(); sz != nil {
			req.Process.ConsoleSize = sz
		}
	} else if isDevNull(d.stdio.In) {
		req.Process.Stdin = false // nothing to relay: the agent gives it /dev/null
	}
	pid, err := d.agent.CreateContainer(ctx, req)
	if err != nil {
		return fmt.Errorf("creating the container in the guest: %w", err)
	}
	d.init = newProc("", int(pid), d.id)
	return nil
}

// hostCPUSet takes the container's cpuset (linux.resources.cpu.cpus, host
// CPUs, as Kubernetes' static CPU manager hands them out) for the VM's
// vCPU pinning; the guest, whose vCPUs run on exactly those CPUs, gives
// the container all of its own instead of a list that names host CPUs.
func hostCPUSet(plan *ocispec.Plan) ([]int, error) {
	res := plan.Request.GetResources()
	if res.GetCpusetCpus() == "" {
		return nil, nil
	}
	cpus, err := devicemgr.ParseCPUList(res.GetCpusetCpus())
	if err != nil {
		return nil, errorf(CodeInvalidArgument, "linux.resources.cpu.cpus: %v", err)
	}
	res.CpusetCpus = nil
	return cpus, nil
}

// daxVolumes checks the spec's DAX images (collect: their header and
// size), which the VM must boot with.
func daxVolumes(plan *ocispec.Plan) ([]runtime.DAXVolume, error) {
	var out []runtime.DAXVolume
	for _, v := range plan.Volumes {
		if !v.DAX {
			continue
		}
		img, err := nvdimm.CheckImage(v.Source)
		if err != nil {
			return nil, errorf(CodeInvalidArgument, "%s: %v (build DAX images with kite volume build-dax)", v.Field, err)
		}
		out = append(out, runtime.DAXVolume{Name: "d" + strconv.Itoa(len(out)), Path: img.Path, Size: img.Size})
	}
	return out, nil
}

// createdState is the state once the container exists.
func (d *daemon) createdState(st state.State, plan *ocispec.Plan) (state.State, error) {
	start, err := state.Proc{}.StartTime(os.Getpid())
	if err != nil {
		return st, err
	}
	st.Status = state.StatusCreated
	st.Rootfs = plan.Rootfs
	st.Pid, st.PidStartTime = os.Getpid(), start
	st.QEMUPid = d.vm.Pid()
	st.VirtiofsdPids = nil
	for _, v := range d.vm.Virtiofsd() {
		st.VirtiofsdPids = append(st.VirtiofsdPids, v.Pid())
	}
	st.GuestPid = d.init.pid
	st.ControlSocket = d.ln.Addr().String()
	st.Terminal = plan.Terminal
	return st, nil
}

// isDevNull reports whether f is /dev/null, which the guest can give the
// process itself.
func isDevNull(f *os.File) bool {
	if f == nil {
		return true
	}
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(os.DevNull)
	return err == nil && os.SameFile(a, b)
}

// proc is a process the sandbox process started in the container.
type proc struct {
	execID string // "" for init
	pid    int    // in the guest
	ref    client.ProcessRef
	done   chan struct{}
	code   int // set before done is closed
}

func newProc(execID string, pid int, containerID string) *proc {
	ref := client.ProcessRef{ContainerID: containerID, ExecID: execID}
	return &proc{execID: execID, pid: pid, ref: ref, done: make(chan struct{})}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
