package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/testing/sriovtest"
	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/hotplug"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/vm"
)

// TestIntegrationPassthroughTestHost boots one test host with an igb NIC
// (beside its NVMe PF) for the engine's passthrough: functions of a
// sandbox's plan, and a VF netdev of the pod netns.
func TestIntegrationPassthroughTestHost(t *testing.T) {
	if !testhost.Inside() {
		testhost.Run(t, testhost.Options{IGB: true})
		return
	}
	t.Run("functions", testSandboxPassthrough)
	t.Run("vf netdev", testPhysicalEndpoint)
}

// testSandboxPassthrough starts a sandbox's QEMU from
// the engine's own plan inside the test host, with one VF cold-plugged (a
// claimed function of the first container, on its root port) and another
// hot-plugged into a spare root port of the same topology, then unplugged;
// the undo gives both back to their host state. The guest is not booted
// (QEMU stays paused: a nested boot takes ~90 s under TCG in TCG), so the
// attachments' host sides are applied here as vm.Boot applies them, and hot
// plug is native PCIe, which completes device_del without a guest.
func testSandboxPassthrough(t *testing.T) {
	const root = "/sys"
	vfs := sriovtest.NVMeVFs(t, root, 2)
	cold, hot := vfs[0], vfs[1]
	before := map[string]string{cold: sriovtest.DriverOf(t, root, cold), hot: sriovtest.DriverOf(t, root, hot)}

	cfg := configs.Default()
	cfg.Hypervisor.Path = testutil.RequireQEMU(t)
	cfg.Hypervisor.MemoryMiB = 128
	cfg.Hotplug.Method = configs.HotplugNative
	cfg.Hotplug.Spare9PShares = 0
	cfg.SharedFS.Driver = configs.FSVirtio9P
	dir := filepath.Join(t.TempDir(), "sb")
	l, err := planSandbox(Config{ID: "pass", Dir: dir, Config: cfg, SysfsRoot: root},
		facts{host: vm.Host{Accel: qemu.AccelTCG}, functions: []devicemgr.Assignment{{BDF: cold, NUMANode: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := os.MkdirAll(l.vm.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var host cleanup.Stack
	t.Cleanup(func() { host.Clean() })
	qc := l.vm.QEMU
	qc.Kernel, qc.Paused = qemu.Kernel{}, true // no guest: see above
	qc.Devices = nil                           // the agent's port: no agent either
	for _, a := range l.vm.Attachments {
		p, err := a.Attach(context.Background(), &host)
		if err != nil {
			t.Fatalf("attaching %s: %v", a.Name(), err)
		}
		qc.Devices = append(qc.Devices, p.Device)
	}
	pid, q, stopQEMU := startPaused(t, qc)
	t.Logf("measured: sandbox QEMU up with %s cold-plugged in %s", cold, time.Since(start).Round(time.Millisecond))
	if !sriovtest.HoldsVFIOGroup(t, root, pid, cold) {
		t.Errorf("the sandbox's QEMU does not hold the group of cold-plugged %s", cold)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start = time.Now()
	port, err := l.topo.Take("hpci1")
	if err != nil {
		t.Fatal(err)
	}
	fn := &devicemgr.VFIOFunction{ID: "hpci1", BDF: hot, Port: port, SysfsRoot: root}
	var hotHost cleanup.Stack
	p, err := fn.Attach(ctx, &hotHost)
	if err != nil {
		t.Fatalf("binding %s: %v", hot, err)
	}
	plugged, err := hotplug.Plug(ctx, q, fn.Name(), p.Device)
	if err != nil {
		hotHost.Clean()
		t.Fatalf("hot-plugging %s: %v", hot, err)
	}
	t.Logf("measured: %s hot-plugged (bind + device_add) in %s", hot, time.Since(start).Round(time.Millisecond))
	if !sriovtest.HoldsVFIOGroup(t, root, pid, hot) {
		t.Errorf("the sandbox's QEMU does not hold the group of hot-plugged %s", hot)
	}
	if err := plugged.Unplug(ctx, q); err != nil {
		t.Fatalf("unplugging %s: %v", hot, err)
	}
	if err := hotHost.Clean(); err != nil {
		t.Fatal(err)
	}
	l.topo.Release(port)
	if drv := sriovtest.DriverOf(t, root, hot); drv != before[hot] {
		t.Errorf("%s driver = %q after the unplug, want %q", hot, drv, before[hot])
	}
	stopQEMU() // QEMU lets go of the functions before they go back
	if err := host.Clean(); err != nil {
		t.Fatalf("undo: %v", err)
	}
	for _, vf := range vfs {
		if drv := sriovtest.DriverOf(t, root, vf); drv != before[vf] {
			t.Errorf("%s driver = %q after the undo, want %q", vf, drv, before[vf])
		}
	}
}

// startPaused starts QEMU paused; the stop it returns (also run when the
// test ends) is idempotent.
func startPaused(t *testing.T, qc qemu.Config) (int, *qmp.Client, func()) {
	t.Helper()
	cl, err := qc.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	proc, err := qemu.Start(ctx, cl, qemu.StartOptions{LogPath: filepath.Join(filepath.Dir(qc.QMPSocket), "qemu.log")})
	if err != nil {
		t.Fatalf("starting QEMU: %v\n%s", err, cl.String())
	}
	q, err := qmp.Dial(ctx, cl.QMPSocket)
	if err != nil {
		proc.Stop(ctx, nil, qemu.StopTimeouts{Term: time.Second, Kill: 10 * time.Second})
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			proc.Stop(sctx, q, qemu.StopTimeouts{Quit: 5 * time.Second, Term: 5 * time.Second, Kill: 10 * time.Second})
			q.Close()
		})
	}
	t.Cleanup(stop)
	return proc.Pid(), q, stop
}
