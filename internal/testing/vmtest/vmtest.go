package vmtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/vm"
)

// GuestDirEnv names the directory holding the guest build for tests.
const GuestDirEnv = "KITE_TEST_GUEST_DIR"

const (
	// bootSlack is what Boot may take beyond the agent's dial timeout: the
	// attachments' host side before QEMU, QMP and the guest requests after.
	bootSlack = 30 * time.Second
	// stopTimeout bounds stopping the VM and undoing its host side.
	stopTimeout = 60 * time.Second
	// sandboxTimeout bounds the CreateSandbox that mounts the rootfs.
	sandboxTimeout = 60 * time.Second
)

// VM is a running test guest with its QMP and agent connections.
type VM struct {
	// Machine is the engine's VM; nil for a WaitMarker boot.
	Machine *vm.Machine
	// Plan is what the VM was booted from.
	Plan vm.Plan
	// Cmdline is QEMU's command line (the plan's, with the devices).
	Cmdline qemu.Cmdline
	Proc    *qemu.Process
	QMP     *qmp.Client // nil for a WaitMarker boot
	// Agent is the agent connection; Reconnect replaces it.
	Agent   *client.Client
	Version client.VersionInfo
	// Dir holds the VM's sockets and logs.
	Dir string
	// BootTime is from QEMU's start until the agent answered (or the
	// console showed the WaitMarker).
	BootTime time.Duration

	// agentLn is the agent socket the harness listens on: for Reconnect,
	// or for a WaitMarker boot's QEMU to connect to. nil otherwise.
	agentLn *client.SerialListener
	nextID  int  // of containers without an ID
	dumped  bool // the logs went to the test log already
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

// Start boots a guest and waits until its agent answers (or, with
// WaitMarker, until the console shows the marker); with Rootfs it also
// creates the sandbox that mounts it. Everything it starts is stopped and
// removed when the test ends.
func Start(t testing.TB, o Options) *VM {
	t.Helper()
	h := host{QEMU: testutil.RequireQEMU(t), Accel: qemu.AccelType(testutil.Accel()), Facts: vm.DetectHost("")}
	kernel, _ := GuestPaths(t)
	h.GuestDir = filepath.Dir(kernel)
	// Unix socket paths are limited to 108 bytes: keep them out of the long
	// per-test temp dirs.
	tmp, err := os.MkdirTemp("", "kite-vmtest-")
	if err != nil {
		t.Fatal(err)
	}
	v := &VM{Dir: filepath.Join(tmp, "vm")}
	t.Cleanup(func() {
		v.Stop(t)
		os.RemoveAll(tmp)
	})
	plan, rootfs, err := o.plan(h, vmID(t), v.Dir)
	if err != nil {
		t.Fatalf("planning the test VM: %v", err)
	}
	v.Plan = plan
	if v.Cmdline, err = previewCmdline(plan); err != nil {
		t.Fatalf("rendering the test VM's command line: %v", err)
	}
	if o.WaitMarker != "" {
		v.startForMarker(t, o)
		return v
	}
	v.boot(t, o)
	if o.AgentReconnect {
		v.takeOverAgentSocket(t)
	}
	if rootfs != nil {
		v.createSandbox(t, rootfs)
	}
	return v
}

// vmID derives the VM's id, which names QEMU in ps, from the test's name.
func vmID(t testing.TB) string {
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, t.Name())
	return "vmtest-" + id[:min(len(id), 48)]
}

func (v *VM) boot(t testing.TB, o Options) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), o.bootTimeout()+bootSlack)
	defer cancel()
	m, err := vm.Boot(ctx, v.Plan)
	if err != nil {
		// A *vm.BootError carries the tails of QEMU's output and console.
		v.dumped = true
		t.Fatalf("%v\nQEMU command line:\n%s", err, v.Cmdline.String())
	}
	v.Machine, v.Proc, v.QMP, v.Agent, v.Version = m, m.Process(), m.QMP(), m.Agent(), m.Version()
	v.Cmdline = v.Proc.Cmdline()
	tm := m.Timings()
	v.BootTime = tm.AgentReady - tm.HostReady
	t.Logf("guest up in %s (accel %s, agent %s)", v.BootTime.Round(time.Millisecond), v.Plan.QEMU.Accel.Type, v.Version.AgentVersion)
}

// createSandbox has the agent create the sandbox with the rootfs share
// mounted as storage RootfsStorage.
func (v *VM) createSandbox(t testing.TB, rootfs *fsshare.Share) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sandboxTimeout)
	defer cancel()
	err := v.Agent.CreateSandbox(ctx, &protocol.CreateSandboxRequest{
		SandboxId: SandboxID,
		Hostname:  SandboxID,
		Storages:  []*protocol.Storage{rootfs.Storage(RootfsStorage, "")},
	})
	if err != nil {
		v.fail(t, "CreateSandbox with the rootfs: %v", err)
	}
}

// fail reports a failure with what is needed to reproduce it.
func (v *VM) fail(t testing.TB, format string, args ...any) {
	t.Helper()
	v.dumpLogs(t)
	t.Fatalf(format, args...)
}

func (v *VM) dumpLogs(t testing.TB) {
	t.Helper()
	if v.dumped {
		return
	}
	v.dumped = true
	t.Logf("QEMU command line:\n%s", v.Cmdline.String())
	if v.Proc != nil {
		t.Logf("guest console (tail):\n%s", v.Proc.ConsoleTail(8192))
		t.Logf("QEMU output (tail):\n%s", v.Proc.LogTail(4096))
	}
}

// Console returns the whole guest console log so far.
func (v *VM) Console() string {
	b, _ := os.ReadFile(v.Plan.QEMU.ConsoleLog)
	return string(b)
}

// Stop ends the VM now, as the engine stops a sandbox's VM (the guest
// unmounts its storages, QEMU quits, then signals; the host side of the
// attachments is undone); the test's cleanup would do it at the end
// otherwise. A failed test gets the command line and the logs first. It
// is idempotent.
func (v *VM) Stop(t testing.TB) {
	t.Helper()
	if v.stopped {
		return
	}
	v.stopped = true
	if t.Failed() {
		v.dumpLogs(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	var err error
	switch {
	case v.Machine != nil:
		err = v.Machine.Stop(ctx)
	case v.Proc != nil:
		_, err = v.Proc.Stop(ctx, nil, qemu.StopTimeouts{Quit: 3 * time.Second, Term: 3 * time.Second, Kill: 3 * time.Second})
	}
	if v.agentLn != nil {
		v.agentLn.Close()
	}
	if err != nil {
		t.Errorf("stopping the test VM (QEMU pid %d): %v", v.Proc.Pid(), err)
	}
}
