package shim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/runtime"
)

// stopBudget bounds stopping a VM, which must not depend on the ctx of the
// RPC that asked for it.
const stopBudget = 30 * time.Second

// pod is the VM of the shim's pod. Every container's root file system and
// bind mounts reach the guest through the VM's shared directory.
type pod struct {
	lay layout
	vm  *runtime.VM
}

// podInput is what booting the pod needs from its first container.
type podInput struct {
	hostname string
	netns    string // the pod's network namespace; "" for none
}

// bootPod boots the VM with a shared directory (and the pod's network, when
// the first container names a network namespace), records it for a
// cleanup after a crash, and creates the sandbox in the guest.
func bootPod(ctx context.Context, cfg *configs.Config, lay layout, in podInput, log *slog.Logger) (*pod, error) {
	plan, err := runtime.PlanVM(cfg, runtime.VMInput{
		ID: lay.key, Dir: lay.vmDir(), Host: runtime.DetectHost(""), SharedDir: true, NetnsPath: in.netns,
	})
	if err != nil {
		return nil, fmt.Errorf("planning the VM: %w", err)
	}
	if err := os.MkdirAll(lay.root, 0o711); err != nil {
		return nil, err
	}
	rec := podRecord{DaemonPid: os.Getpid(), VMDir: plan.Dir}
	for _, v := range plan.Virtiofsd {
		rec.LockFiles = append(rec.LockFiles, v.LockFile)
	}
	if err := writeRecord(lay.record(), rec); err != nil {
		return nil, err
	}
	vm, err := runtime.BootVM(ctx, plan)
	if err != nil {
		return nil, errors.Join(err, removeIfExists(lay.record()))
	}
	p := &pod{lay: lay, vm: vm}
	rec.QEMUPid = vm.Pid()
	for _, v := range vm.Virtiofsd() {
		rec.VirtiofsdPids = append(rec.VirtiofsdPids, v.Pid())
	}
	err = writeRecord(lay.record(), rec)
	if err == nil {
		err = vm.Agent.CreateSandbox(ctx, &protocol.CreateSandboxRequest{
			SandboxId: lay.key, Hostname: in.hostname,
			Storages: []*protocol.Storage{plan.Mounts[0].Storage(runtime.SharedStorage, "")},
		})
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("creating the sandbox in the guest: %w", err), p.stop())
	}
	t := vm.Timings
	log.Info("pod booted", "qemu_started", t.QEMUStarted, "agent_ready", t.AgentReady, "booted", t.Booted)
	return p, nil
}

// stop stops the VM and removes the record.
func (p *pod) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	return errors.Join(p.vm.Stop(ctx), removeIfExists(p.lay.record()))
}
