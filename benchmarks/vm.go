package benchmarks

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/runtime"
)

// vmStopBudget bounds stopping one VM.
const vmStopBudget = 30 * time.Second

// requireGuest skips a benchmark when QEMU or the guest image is missing,
// saying how to get them.
func requireGuest(cfg *configs.Config) error {
	if _, err := exec.LookPath(cfg.Hypervisor.Path); err != nil {
		return skip("QEMU %s is missing (apt-get install qemu-system-x86)", cfg.Hypervisor.Path)
	}
	for _, p := range []string{cfg.Guest.KernelPath(), cfg.Guest.InitrdPath()} {
		if _, err := os.Stat(p); err != nil {
			return skip("guest image %s is missing (make guest, or kite guest build)", p)
		}
	}
	return nil
}

// requireVirtiofsd skips a benchmark when virtiofsd is missing.
func requireVirtiofsd(cfg *configs.Config) error {
	if _, err := os.Stat(cfg.SharedFS.VirtiofsdPath); err != nil {
		return skip("virtiofsd %s is missing (apt-get install qemu-system-common)", cfg.SharedFS.VirtiofsdPath)
	}
	return nil
}

// requireRoot skips a benchmark that needs root (virtiofsd, taps, mounts).
func requireRoot() error {
	if os.Geteuid() != 0 {
		return skip("needs root (run kite bench as root)")
	}
	return nil
}

// benchConfig is a copy of the configuration for benchmark VMs: the agent
// gets time to answer under TCG, and the driver is fixed by the caller.
func benchConfig(cfg *configs.Config) *configs.Config {
	c := *cfg
	if c.Agent.DialTimeout.Duration() < 90*time.Second {
		c.Agent.DialTimeout = configs.Duration(90 * time.Second)
	}
	return &c
}

// planPod plans VM number seq, named id, in dir/id with shares.
func planPod(cfg *configs.Config, host runtime.Host, dir, id string, seq int, shares []runtime.Share) (runtime.VMPlan, error) {
	return runtime.PlanVM(cfg, runtime.VMInput{ID: id, Dir: filepath.Join(dir, id), Host: host, Shares: shares, GuestCID: guestCID(seq)})
}

// guestCID gives VM number seq of this process a vsock context id (used
// where the agent goes over vsock): a block of 64 per process, so that
// concurrent kite bench runs, and the VMs of one benchmark, do not collide.
func guestCID(seq int) uint32 {
	return uint32(1000 + (os.Getpid()%1000000)*64 + seq%64)
}

// stopVM stops vm with its own budget: it runs after Ctrl-C too.
func stopVM(ctx context.Context, vm *runtime.VM) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), vmStopBudget)
	defer cancel()
	if err := vm.Stop(sctx); err != nil {
		return fmt.Errorf("stopping VM (QEMU pid %d): %w", vm.Pid(), err)
	}
	return nil
}

// rootfsStorages is the sandbox storage list mounting the plan's first share
// as the container root file system.
func rootfsStorages(plan runtime.VMPlan) []*protocol.Storage {
	return []*protocol.Storage{plan.Mounts[0].Storage(rootfsStorageID, "")}
}
