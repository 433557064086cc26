package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vfio"
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
	t.Run("vf netdev attach failures", testPhysicalFaults)
	t.Run("vf rules of an assigned function", testFunctionVFRules)
	t.Run("oci vfio nodes", testOCIVFIONodes)
}

// testOCIVFIONodes claims functions the way an OCI spec's linux.devices
// asks for them, against the test host's real sysfs: /dev/vfio/<group> of
// a VF the operator bound to vfio-pci is claimed (named again in
// PCIDEVICE_*, it is claimed once) and passed through to the sandbox's
// QEMU, which then holds the group; the group of a VF still on no driver
// (no /dev/vfio node exists for it) is refused naming it, with nothing
// claimed. The VF stays on vfio-pci, as the operator left it.
func testOCIVFIONodes(t *testing.T) {
	const root = "/sys"
	vfs := sriovtest.NVMeVFs(t, root, 2)
	bound, unbound := vfs[0], vfs[1]
	r, err := vfio.Bind(vfio.Sysfs{}, root, bound)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Apply(vfio.Sysfs{}, root) })
	gb, err := vfio.GroupOf(root, bound)
	if err != nil {
		t.Fatal(err)
	}
	gu, err := vfio.GroupOf(root, unbound)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := configs.Default()
	cfg.Hypervisor.Path = testutil.RequireQEMU(t)
	cfg.Hypervisor.MemoryMiB = 128
	cfg.Hypervisor.User = "root"
	cfg.Hotplug.Method = configs.HotplugNative
	cfg.Hotplug.Spare9PShares = 0
	cfg.SharedFS.Driver = configs.FSVirtio9P
	cfg.Runtime.Root = dir
	sc := Config{ID: "oci", Dir: filepath.Join(dir, "sb"), Config: cfg, SysfsRoot: root}
	if err := os.MkdirAll(sc.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cl := &claims{cfg: sc, pid: os.Getpid(), rec: &recorder{path: sc.recordPath()}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	_, err = cl.claim(ctx, &spec.Container{ID: "bad", VFIONodes: []string{"/dev/vfio/" + strconv.Itoa(gu.Number)}}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "not vfio-pci") || !strings.Contains(err.Error(), unbound) {
		t.Errorf("claiming the group of unbound %s: %v, want a refusal naming it", unbound, err)
	}
	as, err := cl.claim(ctx, &spec.Container{ID: "c1", VFIONodes: []string{"/dev/vfio/" + strconv.Itoa(gb.Number)},
		Process: &spec.Process{Env: []string{"PCIDEVICE_KITE_IO_NVME=" + bound}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].BDF != bound {
		t.Fatalf("claimed %+v, want %s once", as, bound)
	}
	recs, _ := devicemgr.NewAllocator(sc.allocDir()).Records(ctx)
	if len(recs) != 1 {
		t.Errorf("claims on disk %+v, want %s's alone", recs, bound)
	}
	l, err := planSandbox(sc, facts{host: vm.Host{Accel: qemu.AccelTCG}, functions: as})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(l.vm.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var host cleanup.Stack
	qc := l.vm.QEMU
	qc.Kernel, qc.Paused, qc.Devices = qemu.Kernel{}, true, nil
	for _, a := range l.vm.Attachments {
		p, err := a.Attach(ctx, &host)
		if err != nil {
			t.Fatalf("attaching %s: %v", a.Name(), err)
		}
		qc.Devices = append(qc.Devices, p.Device)
	}
	pid, _, stop := startPaused(t, qc)
	if !sriovtest.HoldsVFIOGroup(t, root, pid, bound) {
		t.Errorf("the sandbox's QEMU does not hold /dev/vfio/%d", gb.Number)
	}
	stop()
	if err := host.Clean(); err != nil {
		t.Fatal(err)
	}
	if drv := sriovtest.DriverOf(t, root, bound); drv != vfio.VFIODriver {
		t.Errorf("%s driver = %q after the sandbox, want vfio-pci as the operator left it", bound, drv)
	}
	if err := cl.release(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
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
	if err := qemu.HandOverVFIO(root, hot, nestedQEMUUser(t)); err != nil { // as vm.Machine.Attach does
		hotHost.Clean()
		t.Fatal(err)
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
	proc, err := qemu.Start(ctx, cl, qemu.StartOptions{LogPath: filepath.Join(filepath.Dir(qc.QMPSocket), "qemu.log"), User: nestedQEMUUser(t)})
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

// nestedQEMUUser is the unprivileged user the test host's QEMU runs as,
// by numbers (the test host has no user database), as vm.Boot runs it as
// hypervisor.user.
func nestedQEMUUser(t *testing.T) *qemu.User {
	t.Helper()
	u, err := qemu.LookupUser("65534:65534")
	if err != nil {
		t.Fatal(err)
	}
	return u
}
