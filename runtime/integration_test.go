package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/qemu"
)

// integrationConfig is the default configuration pointed at the test's QEMU
// and guest image, sized to boot fast.
func integrationConfig(t *testing.T) (*configs.Config, Host) {
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
	host := DetectHost("")
	host.Accel = qemu.AccelType(testutil.Accel())
	return cfg, host
}

// bootT plans and boots, failing the test on error; the VM is stopped when
// the test ends if the test did not stop it.
func bootT(t *testing.T, cfg *configs.Config, in VMInput) *VM {
	t.Helper()
	p, err := PlanVM(cfg, in)
	if err != nil {
		t.Fatalf("PlanVM: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vm, err := BootVM(ctx, p)
	if err != nil {
		t.Fatalf("BootVM: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console:\n%s", vm.Process().ConsoleTail(8192))
		}
		vm.Stop(context.Background())
	})
	t.Logf("booted (accel %s): %+v", p.QEMU.Accel.Type, vm.Timings)
	return vm
}

func TestIntegrationBootVirtioFS(t *testing.T) {
	cfg, host := integrationConfig(t)
	testutil.RequireVirtiofsd(t)
	root := shortTempDir(t)
	rw, ro := filepath.Join(root, "rw"), filepath.Join(root, "ro")
	for _, d := range []string{rw, ro} {
		os.Mkdir(d, 0o755)
	}
	in := VMInput{ID: "vfs", Dir: filepath.Join(root, "sb"), Host: host,
		Shares: []Share{{Tag: "rootfs", HostPath: rw}, {Tag: "data", HostPath: ro, ReadOnly: true}}}
	vm := bootT(t, cfg, in)

	checkAgent(t, vm)
	checkTimings(t, vm.Timings, true)
	fsds := vm.Virtiofsd()
	if len(fsds) != 2 {
		t.Fatalf("%d virtiofsd, want 2", len(fsds))
	}
	// The read-only share is served from a read-only bind of its directory.
	bind := fsds[1].Plan().ReadOnlyBind
	if err := os.WriteFile(filepath.Join(bind, "x"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("writing through the read-only bind: %v, want EROFS", err)
	}
	mountShares(t, vm)

	stopAndCheck(t, vm, fsds...)
	if m := mountsUnder(t, root); len(m) > 0 {
		t.Errorf("mounts left under %s: %q", root, m)
	}
}

func TestIntegrationBoot9P(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.SharedFS.Driver = configs.FSVirtio9P
	root := shortTempDir(t)
	in := VMInput{ID: "ninep", Dir: filepath.Join(root, "sb"), Host: host,
		Shares: []Share{{Tag: "rootfs", HostPath: root}, {Tag: "ro", HostPath: root, ReadOnly: true}}}
	vm := bootT(t, cfg, in)
	checkAgent(t, vm)
	checkTimings(t, vm.Timings, false)
	mountShares(t, vm)
	stopAndCheck(t, vm)
}

// TestIntegrationBootMicrovm boots the microvm machine, whose guest needs
// the TSC frequency and native PCIe ports on its command line.
func TestIntegrationBootMicrovm(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.Hypervisor.Machine = configs.MachineMicroVM
	cfg.Hotplug.Method = configs.HotplugNative
	cfg.SharedFS.Driver = configs.FSVirtio9P
	root := shortTempDir(t)
	vm := bootT(t, cfg, VMInput{ID: "micro", Dir: filepath.Join(root, "sb"), Host: host,
		Shares: []Share{{Tag: "rootfs", HostPath: root}}})
	checkAgent(t, vm)
	mountShares(t, vm)
	stopAndCheck(t, vm)
}

// TestIntegrationBootQEMUFails: QEMU dies at start after virtiofsd started;
// the boot must stop the real virtiofsd and leave nothing.
func TestIntegrationBootQEMUFails(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.SharedFS.VirtiofsdPath = testutil.RequireVirtiofsd(t)
	root := shortTempDir(t)
	cfg.Hypervisor.Path = script(t, root, "qemu", `echo "qemu: cannot start" >&2; exit 1`)
	in := VMInput{ID: "qfail", Dir: filepath.Join(root, "sb"), Host: host, Shares: []Share{{Tag: "rootfs", HostPath: root, ReadOnly: true}}}
	p, err := PlanVM(cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	_, err = BootVM(context.Background(), p)
	var be *BootError
	if !errors.As(err, &be) {
		t.Fatalf("BootVM: %v, want a *BootError", err)
	}
	wantFailed(t, be, StepQEMU, "starting QEMU", "qemu: cannot start")
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
	p, err := PlanVM(cfg, VMInput{ID: "mute", Dir: filepath.Join(root, "sb"), Host: host})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = BootVM(context.Background(), p)
	var be *BootError
	if !errors.As(err, &be) {
		t.Fatalf("BootVM: %v, want a *BootError", err)
	}
	wantFailed(t, be, StepAgentReady, "waiting for the agent", "agent.dial_timeout (3s)", "console:")
	if !errors.Is(err, client.ErrDeadline) {
		t.Errorf("error does not match client.ErrDeadline: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("failed boot took %s with a 3s dial timeout", d)
	}
	wantNoProcess(t, p.Dir)
	wantNothingLeft(t, p)
}

func checkAgent(t *testing.T, vm *VM) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := vm.Agent.Check(ctx)
	if err != nil || v.ProtocolVersion != vm.Version.ProtocolVersion {
		t.Errorf("Check = %+v, %v; boot saw %+v", v, err, vm.Version)
	}
	d, err := vm.Agent.GuestDetails(ctx)
	if err != nil {
		t.Fatalf("GuestDetails: %v", err)
	}
	if d.GetKernelRelease() == "" {
		t.Errorf("GuestDetails has no kernel release: %v", d)
	}
	st, err := vm.QMP.QueryStatus(ctx)
	if err != nil || !st.Running {
		t.Errorf("QMP status = %+v, %v; want running", st, err)
	}
}

// mountShares mounts every share in the guest as the plan says: the guest
// sees the devices and their servers answer.
func mountShares(t *testing.T, vm *VM) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, m := range vm.Plan().Mounts {
		mp, err := vm.Agent.AddStorage(ctx, m.Storage("s"+string(rune('0'+i)), ""))
		if err != nil {
			t.Errorf("mounting share %q in the guest: %v", m.Tag, err)
			continue
		}
		t.Logf("share %q mounted at %s", m.Tag, mp)
	}
}

func checkTimings(t *testing.T, tm Timings, virtiofsd bool) {
	t.Helper()
	seq := []time.Duration{tm.QEMUStarted, tm.AgentConnected, tm.AgentReady, tm.Booted}
	if virtiofsd {
		seq = append([]time.Duration{tm.VirtiofsdReady}, seq...)
	}
	for i, d := range seq {
		if d <= 0 || i > 0 && d < seq[i-1] {
			t.Errorf("timings out of order: %+v", tm)
			return
		}
	}
}

// stopAndCheck stops the VM and checks that no process, socket or directory
// of it is left.
func stopAndCheck(t *testing.T, vm *VM, fsds ...*Virtiofsd) {
	t.Helper()
	p := vm.Plan()
	pids := []int{vm.Pid()}
	for _, v := range fsds {
		pids = append(pids, v.Pid())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if err := vm.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d still runs after Stop", pid)
		}
	}
	wantNothingLeft(t, p)
	if err := vm.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestIntegrationBootGuestPanics boots a guest whose kernel finds no init
// and panics: QEMU exits (-no-reboot), and the boot must fail at once,
// blaming QEMU's exit and showing the panic, not wait for the dial timeout.
func TestIntegrationBootGuestPanics(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.SharedFS.Driver = configs.FSVirtio9P
	cfg.Hypervisor.KernelParams = "rdinit=/no-such-init"
	root := shortTempDir(t)
	p, err := PlanVM(cfg, VMInput{ID: "panic", Dir: filepath.Join(root, "sb"), Host: host})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = BootVM(context.Background(), p)
	var be *BootError
	if !errors.As(err, &be) {
		t.Fatalf("BootVM: %v, want a *BootError", err)
	}
	wantFailed(t, be, StepAgentReady, "Kernel panic")
	if !errors.Is(err, ErrQEMUExited) {
		t.Errorf("error does not match ErrQEMUExited: %v", err)
	}
	if d := time.Since(start); d > cfg.Agent.DialTimeout.Duration()/2 {
		t.Errorf("the boot failed after %s: it waited for the dial timeout instead of QEMU's exit", d)
	}
	wantNothingLeft(t, p)
}
