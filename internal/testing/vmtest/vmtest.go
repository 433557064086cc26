// Package vmtest boots Kite's real guest (kernel + initramfs with the agent)
// under QEMU for integration tests, in the spirit of u-root's vmtest: the
// guest console goes to the test log when a test fails, the QEMU command line
// is printed for reproduction, and QEMU is stopped (quit, then signals) when
// the test ends.
package vmtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
)

// GuestDirEnv names the directory holding the guest build for tests.
const GuestDirEnv = "KITE_TEST_GUEST_DIR"

// Options shape the test VM. The zero value boots the default guest.
type Options struct {
	MemoryMiB     int           // default 256
	MemorySlots   int           // hotplug memory slots, one per NVDIMM
	MaxMemoryMiB  int           // RAM plus NVDIMM room; needs MemorySlots
	SharedMemory  bool          // memfd-backed RAM, for vhost-user devices
	RootPorts     int           // spare pcie-root-ports named rp0.. for hot plug
	NativeHotplug bool          // PCIe native hotplug instead of ACPI
	Devices       []qemu.Device // cold-plugged devices
	KernelArgs    string        // appended to the kernel command line
	BootTimeout   time.Duration // until the agent answers; default 90s
	// Initrd overrides the guest initramfs (e.g. the busybox-only baseline).
	Initrd string
	// WaitMarker, when set, makes Start wait for this text on the guest
	// console instead of for the agent (for images without an agent).
	WaitMarker string
}

// VM is a running test guest with its QMP and agent connections.
type VM struct {
	Cmdline qemu.Cmdline
	Proc    *qemu.Process
	QMP     *qmp.Client
	Agent   *client.Client
	Version client.VersionInfo
	// Dir holds the VM's sockets and logs.
	Dir string
	// BootTime is from QEMU start until the agent answered Check.
	BootTime time.Duration

	serial  *client.SerialListener
	stopped bool
}

// GuestPaths returns the guest kernel and initramfs, skipping (or failing,
// under KITE_TEST_STRICT=1) when they have not been built.
func GuestPaths(t testing.TB) (kernel, initrd string) {
	t.Helper()
	dir := os.Getenv(GuestDirEnv)
	if dir == "" {
		dir = configs.Default().Guest.Dir
	}
	kernel, initrd = filepath.Join(dir, "vmlinux"), filepath.Join(dir, "initramfs.cpio.gz")
	for _, p := range []string{kernel, initrd} {
		if _, err := os.Stat(p); err != nil {
			testutil.Skip(t, "guest image missing: "+p, "make guest (or kite guest build --out "+dir+")")
		}
	}
	return kernel, initrd
}

// Start boots a guest and waits until its agent answers. Everything it starts
// is stopped and removed when the test ends.
func Start(t testing.TB, o Options) *VM {
	t.Helper()
	qemuPath := testutil.RequireQEMU(t)
	kernel, initrd := GuestPaths(t)
	if o.Initrd != "" {
		initrd = o.Initrd
	}
	// Unix socket paths are limited to 108 bytes: keep them out of the long
	// per-test temp dirs.
	dir, err := os.MkdirTemp("", "kite-vmtest-")
	if err != nil {
		t.Fatal(err)
	}
	vm := &VM{Dir: dir}
	t.Cleanup(func() { vm.Stop(t); os.RemoveAll(dir) })

	ln, err := client.ListenSerial(filepath.Join(dir, "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	vm.serial = ln

	cfg := o.config(qemuPath, kernel, initrd, dir, ln.Path())
	vm.Cmdline, err = cfg.Build()
	if err != nil {
		t.Fatalf("building the QEMU command line: %v", err)
	}
	timeout := o.BootTimeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	start := time.Now()
	vm.Proc, err = qemu.Start(ctx, vm.Cmdline, qemu.StartOptions{LogPath: filepath.Join(dir, "qemu.log")})
	if err != nil {
		t.Fatalf("starting QEMU: %v\ncommand: %s", err, vm.Cmdline.String())
	}
	if o.WaitMarker != "" {
		vm.waitMarker(t, ctx, o.WaitMarker)
		vm.BootTime = time.Since(start)
		return vm
	}
	conn, err := ln.Accept(ctx)
	if err != nil {
		vm.fail(t, "QEMU never connected to the agent socket: %v", err)
	}
	// One long attempt: see runtime's boot_agent.go for why.
	vm.Agent = client.New(conn, client.WithReadyBackoff(timeout, timeout))
	vm.Version, err = vm.Agent.WaitReady(ctx)
	if err != nil {
		vm.fail(t, "agent not ready after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	vm.BootTime = time.Since(start)
	vm.QMP, err = qmp.Dial(ctx, vm.Cmdline.QMPSocket)
	if err != nil {
		vm.fail(t, "QMP: %v", err)
	}
	t.Logf("guest up in %s (accel %s, agent %s)", vm.BootTime.Round(time.Millisecond), cfg.Accel.Type, vm.Version.AgentVersion)
	return vm
}

func (o Options) config(qemuPath, kernel, initrd, dir, agentSock string) qemu.Config {
	mem := o.MemoryMiB
	if mem == 0 {
		mem = 256
	}
	accel := qemu.Accel{Type: qemu.AccelType(testutil.Accel())}
	if accel.Type == qemu.AccelTCG {
		accel.TBSizeMiB = 32
	}
	// no_timer_check: see runtime.kernelCmdline (TCG on a loaded host).
	appendArgs := strings.TrimSpace("console=ttyS0 panic=1 quiet no_timer_check " + o.KernelArgs)
	return qemu.Config{
		Name:       "kite-vmtest",
		Binary:     qemuPath,
		Machine:    qemu.Machine{Type: qemu.MachineQ35, NativeHotplug: o.NativeHotplug},
		Accel:      accel,
		CPU:        qemu.CPU{Model: "max", VCPUs: 1},
		Memory:     qemu.Memory{SizeMiB: mem, Shared: o.SharedMemory, Slots: o.MemorySlots, MaxMiB: o.MaxMemoryMiB},
		Kernel:     qemu.Kernel{Path: kernel, Initrd: initrd, Append: appendArgs},
		ConsoleLog: filepath.Join(dir, "console.log"),
		QMPSocket:  filepath.Join(dir, "qmp.sock"),
		PidFile:    filepath.Join(dir, "qemu.pid"),
		RootPorts:  qemu.RootPortPool("rp", o.RootPorts),
		Devices: append([]qemu.Device{
			qemu.SerialPort{ID: "agent", SocketPath: agentSock, Name: "agent0", Reconnect: 1},
		}, o.Devices...),
	}
}

func (vm *VM) waitMarker(t testing.TB, ctx context.Context, marker string) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(vm.Console(), marker) {
		select {
		case <-ctx.Done():
			vm.fail(t, "console never showed %q: %v", marker, ctx.Err())
		case <-vm.Proc.Done():
			if strings.Contains(vm.Console(), marker) {
				return
			}
			vm.fail(t, "QEMU exited before the console showed %q", marker)
		case <-tick.C:
		}
	}
}

// Reconnect waits for QEMU to reconnect the agent channel after the host
// closed it (the chardev has reconnect=1) and returns a client on the new
// connection, which also replaces vm.Agent.
func (vm *VM) Reconnect(t testing.TB) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := vm.serial.Accept(ctx)
	if err != nil {
		vm.fail(t, "QEMU did not reconnect the agent channel: %v", err)
	}
	vm.Agent = client.New(conn)
	if _, err := vm.Agent.WaitReady(ctx); err != nil {
		vm.fail(t, "agent not ready on the new connection: %v", err)
	}
	return vm.Agent
}

// fail reports a boot failure with what is needed to reproduce it.
func (vm *VM) fail(t testing.TB, format string, args ...any) {
	t.Helper()
	vm.dumpLogs(t)
	t.Fatalf(format, args...)
}

func (vm *VM) dumpLogs(t testing.TB) {
	t.Helper()
	t.Logf("QEMU command line:\n%s", vm.Cmdline.String())
	if vm.Proc != nil {
		t.Logf("guest console (tail):\n%s", vm.Proc.ConsoleTail(8192))
		t.Logf("QEMU output (tail):\n%s", vm.Proc.LogTail(4096))
	}
}

// Console returns the whole guest console log so far.
func (vm *VM) Console() string {
	b, _ := os.ReadFile(vm.Cmdline.ConsoleLog)
	return string(b)
}

// Stop ends the VM now (quit, then signals); the test's cleanup would do it
// at the end otherwise. It is idempotent.
func (vm *VM) Stop(t testing.TB) {
	if vm.stopped {
		return
	}
	vm.stopped = true
	if t.Failed() {
		vm.dumpLogs(t)
	}
	if vm.Agent != nil {
		vm.Agent.Close()
	}
	if vm.Proc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var quitter qemu.Quitter
	if vm.QMP != nil {
		quitter = vm.QMP
	}
	if _, err := vm.Proc.Stop(ctx, quitter, qemu.StopTimeouts{Quit: 3 * time.Second, Term: 3 * time.Second, Kill: 3 * time.Second}); err != nil {
		t.Errorf("stopping QEMU (pid %d): %v", vm.Proc.Pid(), err)
	}
	if vm.QMP != nil {
		vm.QMP.Close()
	}
}
