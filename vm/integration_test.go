package vm_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
)

// integrationConfig is the default configuration pointed at the test's QEMU
// and guest image, sized to boot fast.
func integrationConfig(t *testing.T) (*configs.Config, vm.Host) {
	t.Helper()
	testutil.RequireRoot(t)
	qemuPath := testutil.RequireQEMU(t)
	kernel, initrd := vmtest.GuestPaths(t)
	cfg := configs.Default()
	cfg.Hypervisor.Path = qemuPath
	cfg.Hypervisor.MemoryMiB = 256
	cfg.Guest.Dir = filepath.Dir(kernel)
	cfg.Guest.Kernel, cfg.Guest.Initrd = kernel, initrd
	cfg.Agent.DialTimeout = configs.Duration(90 * time.Second)
	host := vm.DetectHost("")
	host.Accel = qemu.AccelType(testutil.Accel())
	return cfg, host
}

// planT plans in with the shares and the devices the engine adds
// (withDevices), failing the test on error.
func planT(t *testing.T, cfg *configs.Config, in vm.Input, shares ...share) vm.Plan {
	t.Helper()
	p, err := vm.PlanMachine(cfg, withDevices(t, cfg, in, shares...))
	if err != nil {
		t.Fatalf("PlanMachine: %v", err)
	}
	return p
}

// bootT plans and boots, failing the test on error; the VM is stopped when
// the test ends if the test did not stop it.
func bootT(t *testing.T, cfg *configs.Config, in vm.Input, shares ...share) *vm.Machine {
	t.Helper()
	p := planT(t, cfg, in, shares...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := vm.Boot(ctx, p)
	if err != nil {
		t.Fatalf("Boot: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console:\n%s", m.Process().ConsoleTail(8192))
		}
		m.Stop(context.Background())
	})
	t.Logf("booted (accel %s): %+v", p.QEMU.Accel.Type, m.Timings())
	return m
}

func TestIntegrationBootVirtioFS(t *testing.T) {
	cfg, host := integrationConfig(t)
	testutil.RequireVirtiofsd(t)
	root := shortTempDir(t)
	rw, ro := filepath.Join(root, "rw"), filepath.Join(root, "ro")
	for _, d := range []string{rw, ro} {
		os.Mkdir(d, 0o755)
	}
	m := bootT(t, cfg, vm.Input{ID: "vfs", Dir: filepath.Join(root, "sb"), Host: host},
		share{tag: "rootfs", host: rw}, share{tag: "data", host: ro, ro: true})

	checkAgent(t, m)
	checkTimings(t, m.Timings())
	shares := sharesOf(m.Plan())
	if len(shares) != 2 || shares[0].Daemon() == nil || shares[1].Daemon() == nil {
		t.Fatalf("shares %v: want 2, each with its virtiofsd", shares)
	}
	// The read-only share is served from a read-only bind of its directory.
	bind := shares[1].Virtiofsd().ReadOnlyBind
	if err := os.WriteFile(filepath.Join(bind, "x"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("writing through the read-only bind: %v, want EROFS", err)
	}
	mountShares(t, m)

	stopAndCheck(t, m)
	if mnts := mountsUnder(t, root); len(mnts) > 0 {
		t.Errorf("mounts left under %s: %q", root, mnts)
	}
}

func TestIntegrationBoot9P(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.SharedFS.Driver = configs.FSVirtio9P
	root := shortTempDir(t)
	m := bootT(t, cfg, vm.Input{ID: "ninep", Dir: filepath.Join(root, "sb"), Host: host},
		share{tag: "rootfs", host: root}, share{tag: "ro", host: root, ro: true})
	checkAgent(t, m)
	checkTimings(t, m.Timings())
	mountShares(t, m)
	stopAndCheck(t, m)
}

// TestIntegrationBootMicrovm boots the microvm machine, whose guest needs
// the TSC frequency and native PCIe ports on its command line.
func TestIntegrationBootMicrovm(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.Hypervisor.Machine = configs.MachineMicroVM
	cfg.Hotplug.Method = configs.HotplugNative
	cfg.SharedFS.Driver = configs.FSVirtio9P
	root := shortTempDir(t)
	m := bootT(t, cfg, vm.Input{ID: "micro", Dir: filepath.Join(root, "sb"), Host: host},
		share{tag: "rootfs", host: root})
	checkAgent(t, m)
	mountShares(t, m)
	stopAndCheck(t, m)
}

// TestIntegrationBootQEMUFails: QEMU dies at start after virtiofsd started;
// the boot must stop the real virtiofsd and leave nothing.
func TestIntegrationBootQEMUFails(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.SharedFS.VirtiofsdPath = testutil.RequireVirtiofsd(t)
	root := shortTempDir(t)
	cfg.Hypervisor.Path = script(t, root, "qemu", `echo "qemu: cannot start" >&2; exit 1`)
	cfg.Hypervisor.User = configs.UserRoot // the script is in a private temp dir
	p := planT(t, cfg, vm.Input{ID: "qfail", Dir: filepath.Join(root, "sb"), Host: host},
		share{tag: "rootfs", host: root, ro: true})
	_, err := vm.Boot(context.Background(), p)
	var be *vm.BootError
	if !errors.As(err, &be) {
		t.Fatalf("Boot: %v, want a *BootError", err)
	}
	wantFailed(t, be, vm.StepQEMU, "starting QEMU", "qemu: cannot start")
	wantNoProcess(t, p.Dir)
	wantNothingLeft(t, p)
	if m := mountsUnder(t, root); len(m) > 0 {
		t.Errorf("mounts left under %s: %q", root, m)
	}
}

// TestIntegrationBootAgentNeverAnswers boots the real guest with a shell as
// init instead of the agent: the wait must end at agent.dial_timeout, kill
// QEMU and say what the console said.
func TestIntegrationBootAgentNeverAnswers(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.SharedFS.Driver = configs.FSVirtio9P
	cfg.Hypervisor.KernelParams = "rdinit=/bin/sh"
	cfg.Agent.DialTimeout = configs.Duration(3 * time.Second)
	cfg.Hypervisor.ShutdownTimeout = configs.Duration(time.Second)
	root := shortTempDir(t)
	p := planT(t, cfg, vm.Input{ID: "mute", Dir: filepath.Join(root, "sb"), Host: host})
	start := time.Now()
	_, err := vm.Boot(context.Background(), p)
	var be *vm.BootError
	if !errors.As(err, &be) {
		t.Fatalf("Boot: %v, want a *BootError", err)
	}
	wantFailed(t, be, vm.StepAgentReady, "waiting for the agent", "agent.dial_timeout (3s)", "console:")
	if !errors.Is(err, client.ErrDeadline) {
		t.Errorf("error does not match client.ErrDeadline: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("failed boot took %s with a 3s dial timeout", d)
	}
	wantNoProcess(t, p.Dir)
	wantNothingLeft(t, p)
}

// TestIntegrationBootGuestPanics boots a guest whose kernel finds no init
// and panics: QEMU exits (-no-reboot), and the boot must fail at once,
// blaming QEMU's exit and showing the panic, not wait for the dial timeout.
func TestIntegrationBootGuestPanics(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.SharedFS.Driver = configs.FSVirtio9P
	cfg.Hypervisor.KernelParams = "rdinit=/no-such-init"
	root := shortTempDir(t)
	p := planT(t, cfg, vm.Input{ID: "panic", Dir: filepath.Join(root, "sb"), Host: host})
	start := time.Now()
	_, err := vm.Boot(context.Background(), p)
	var be *vm.BootError
	if !errors.As(err, &be) {
		t.Fatalf("Boot: %v, want a *BootError", err)
	}
	wantFailed(t, be, vm.StepAgentReady, "Kernel panic")
	if !errors.Is(err, vm.ErrQEMUExited) {
		t.Errorf("error does not match ErrQEMUExited: %v", err)
	}
	if d := time.Since(start); d > cfg.Agent.DialTimeout.Duration()/2 {
		t.Errorf("the boot failed after %s: it waited for the dial timeout instead of QEMU's exit", d)
	}
	wantNothingLeft(t, p)
}

func checkAgent(t *testing.T, m *vm.Machine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := m.Agent().Check(ctx)
	if err != nil || v.ProtocolVersion != m.Version().ProtocolVersion {
		t.Errorf("Check = %+v, %v; boot saw %+v", v, err, m.Version())
	}
	d, err := m.Agent().GuestDetails(ctx)
	if err != nil {
		t.Fatalf("GuestDetails: %v", err)
	}
	if d.GetKernelRelease() == "" {
		t.Errorf("GuestDetails has no kernel release: %v", d)
	}
	st, err := m.QMP().QueryStatus(ctx)
	if err != nil || !st.Running {
		t.Errorf("QMP status = %+v, %v; want running", st, err)
	}
}

// mountShares mounts every share in the guest as the share says: the
// guest sees the devices and their servers answer.
func mountShares(t *testing.T, m *vm.Machine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, s := range sharesOf(m.Plan()) {
		mp, err := m.Agent().AddStorage(ctx, s.Storage("s"+strconv.Itoa(i), ""))
		if err != nil {
			t.Errorf("mounting share %q in the guest: %v", s.Tag, err)
			continue
		}
		t.Logf("share %q mounted at %s", s.Tag, mp)
	}
}

// checkTimings checks the boot's moments are in order. The runtime's
// VirtiofsdReady (virtio-fs only) is HostReady now: every attachment's
// host side done, whatever the driver.
func checkTimings(t *testing.T, tm vm.Timings) {
	t.Helper()
	seq := []time.Duration{tm.HostReady, tm.QEMUStarted, tm.AgentConnected, tm.AgentReady, tm.Booted}
	for i, d := range seq {
		if d <= 0 || i > 0 && d < seq[i-1] {
			t.Errorf("timings out of order: %+v", tm)
			return
		}
	}
}

// stopAndCheck stops the VM and checks that no process (QEMU, the shares'
// virtiofsd), socket or directory of it is left.
func stopAndCheck(t *testing.T, m *vm.Machine) {
	t.Helper()
	p := m.Plan()
	pids := []int{m.Process().Pid()}
	for _, s := range sharesOf(p) {
		if d := s.Daemon(); d != nil {
			pids = append(pids, d.Pid())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if err := m.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d still runs after Stop", pid)
		}
	}
	wantNothingLeft(t, p)
	if err := m.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}
