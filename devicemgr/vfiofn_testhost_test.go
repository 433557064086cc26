package devicemgr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/testing/sriovtest"
	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/hotplug"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/vfio"
)

// TestIntegrationVFIOTestHost runs inside the test host (a VM with an
// emulated IOMMU and an SR-IOV NVMe PF), one boot for both halves of a
// VFIO attachment: its host side, cold, and a hot plug into a running QEMU.
func TestIntegrationVFIOTestHost(t *testing.T) {
	if !testhost.Inside() {
		testhost.Run(t, testhost.Options{})
		return
	}
	t.Run("attach", testVFIOAttach)
	t.Run("hotplug", testVFIOHotplug)
}

// testVFIOAttach: attaching VFs binds them to vfio-pci (their /dev/vfio
// nodes appear) and the undo restores their drivers; a function whose
// IOMMU group holds a device the host uses is refused before anything is
// unbound.
func testVFIOAttach(t *testing.T) {
	const root = "/sys"
	vfs := sriovtest.NVMeVFs(t, root, 2)
	before := map[string]string{}
	for _, vf := range vfs {
		before[vf] = sriovtest.DriverOf(t, root, vf)
	}
	topo := NewTopology()
	var host cleanup.Stack
	start := time.Now()
	for i, vf := range vfs {
		port, err := topo.Reserve(vf)
		if err != nil {
			t.Fatal(err)
		}
		fn := &VFIOFunction{ID: "pci" + strconv.Itoa(i), BDF: vf, Port: port, SysfsRoot: root, Together: vfs}
		if _, err := fn.Attach(context.Background(), &host); err != nil {
			t.Fatalf("attaching %s: %v", vf, err)
		}
	}
	t.Logf("bound %d VFs to vfio-pci in %s", len(vfs), time.Since(start).Round(time.Millisecond))
	for _, vf := range vfs {
		if drv := sriovtest.DriverOf(t, root, vf); drv != vfio.VFIODriver {
			t.Errorf("%s driver = %q after the bind, want vfio-pci", vf, drv)
		}
		g, err := vfio.GroupOf(root, vf)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join("/dev/vfio", strconv.Itoa(g.Number))); err != nil {
			t.Errorf("no /dev/vfio node for %s: %v", vf, err)
		}
	}
	if err := host.Clean(); err != nil {
		t.Fatalf("undo: %v", err)
	}
	for _, vf := range vfs {
		if drv := sriovtest.DriverOf(t, root, vf); drv != before[vf] {
			t.Errorf("%s driver = %q after the undo, want %q as before", vf, drv, before[vf])
		}
	}

	shared := testhost.SharesSlot + ".1" // in a group with the host's /usr share
	port, _ := topo.Take("shared")
	fn := &VFIOFunction{ID: "bad", BDF: shared, Port: port, SysfsRoot: root}
	_, err := fn.Attach(context.Background(), &host)
	if !errors.Is(err, vfio.ErrNotViable) || !strings.Contains(err.Error(), testhost.SharesSlot+".0") {
		t.Errorf("passing %s through = %v, want ErrNotViable naming %s.0", shared, err, testhost.SharesSlot)
	}
	if drv := sriovtest.DriverOf(t, root, shared); drv != "virtio-pci" {
		t.Errorf("%s driver = %q after the refusal, want virtio-pci untouched", shared, drv)
	}
	if host.Len() != 0 {
		t.Errorf("a refused attach left %d undo steps", host.Len())
	}
}

// testVFIOHotplug hot-plugs a VF into a running QEMU (paused, native PCIe
// hotplug, so that device_del completes without a guest driving the
// slot): the function's host side binds it to vfio-pci and QEMU opens its
// group on a spare root port of the topology; the unplug waits for
// DEVICE_DELETED, the undo restores the driver, and the port is free
// again.
func testVFIOHotplug(t *testing.T) {
	const root = "/sys"
	vf := sriovtest.NVMeVFs(t, root, 1)[0]
	before := sriovtest.DriverOf(t, root, vf)
	topo := NewTopology()
	if err := topo.AddSpares(1); err != nil {
		t.Fatal(err)
	}
	pid, q := pausedQEMU(t, topo.RootPorts())

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	port, err := topo.Take(vf)
	if err != nil {
		t.Fatal(err)
	}
	fn := &VFIOFunction{ID: "hpci1", BDF: vf, Port: port, SysfsRoot: root}
	var host cleanup.Stack
	p, err := fn.Attach(ctx, &host)
	if err != nil {
		t.Fatalf("binding %s: %v", vf, err)
	}
	// QEMU runs unprivileged: the group's node is handed to its user, as
	// vm.Machine.Attach does.
	if err := qemu.HandOverVFIO(root, vf, testQEMUUser(t)); err != nil {
		host.Clean()
		t.Fatal(err)
	}
	plugged, err := hotplug.Plug(ctx, q, fn.Name(), p.Device)
	if err != nil {
		host.Clean()
		t.Fatalf("hot-plugging %s: %v", vf, err)
	}
	t.Logf("measured: %s bound and device_add answered in %s (port %s, guest path %s)", vf, time.Since(start).Round(time.Millisecond), port.ID, port.GuestPath())
	if drv := sriovtest.DriverOf(t, root, vf); drv != vfio.VFIODriver {
		t.Errorf("%s driver = %q while plugged, want vfio-pci", vf, drv)
	}
	if !sriovtest.HoldsVFIOGroup(t, root, pid, vf) {
		t.Errorf("QEMU does not hold the VFIO group of %s", vf)
	}
	var other cleanup.Stack
	if _, err := (&VFIOFunction{ID: "bad", BDF: testhost.SharesSlot + ".1", SysfsRoot: root}).Attach(ctx, &other); !errors.Is(err, vfio.ErrNotViable) {
		t.Errorf("hot-plugging a function whose group the host uses = %v, want ErrNotViable", err)
	}
	start = time.Now()
	if err := plugged.Unplug(ctx, q); err != nil {
		t.Fatal(err)
	}
	if err := host.Clean(); err != nil {
		t.Fatal(err)
	}
	topo.Release(port)
	t.Logf("measured: unplugged (DEVICE_DELETED) and restored in %s", time.Since(start).Round(time.Millisecond))
	if drv := sriovtest.DriverOf(t, root, vf); drv != before {
		t.Errorf("%s driver = %q after unplug, want %q", vf, drv, before)
	}
	if sriovtest.HoldsVFIOGroup(t, root, pid, vf) {
		t.Errorf("QEMU still holds the group of %s after the unplug", vf)
	}
	if _, err := topo.Take("again"); err != nil {
		t.Errorf("the port was not freed: %v", err)
	}
}

// pausedQEMU starts the test host's QEMU paused with the root ports and
// native hotplug, stopped when the test ends. It is confined as Kite's
// default confines it: seccomp, an unprivileged user, and ipc_lock alone,
// kept for the functions hot-plugged later.
func pausedQEMU(t *testing.T, ports []qemu.RootPort) (int, *qmp.Client) {
	t.Helper()
	dir := t.TempDir()
	cfg := qemu.Config{
		Name: "kite-hot", Binary: testutil.RequireQEMU(t),
		Machine: qemu.Machine{Type: qemu.MachineQ35, NativeHotplug: true},
		Accel:   qemu.Accel{Type: qemu.AccelTCG, TBSizeMiB: 16}, CPU: qemu.CPU{Model: "max", VCPUs: 1},
		Memory: qemu.Memory{SizeMiB: 128}, Paused: true,
		QMPSocket: filepath.Join(dir, "qmp.sock"), PidFile: filepath.Join(dir, "qemu.pid"),
		RootPorts: ports, Seccomp: true, Caps: qemu.VFIOCaps,
	}
	cl, err := cfg.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	proc, err := qemu.Start(ctx, cl, qemu.StartOptions{LogPath: filepath.Join(dir, "qemu.log"), User: testQEMUUser(t)})
	if err != nil {
		t.Fatal(err)
	}
	q, err := qmp.Dial(ctx, cl.QMPSocket)
	if err != nil {
		proc.Signal(syscall.SIGKILL)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		proc.Stop(sctx, q, qemu.StopTimeouts{Quit: 5 * time.Second, Term: 5 * time.Second, Kill: 10 * time.Second})
		q.Close()
	})
	return proc.Pid(), q
}

// testQEMUUser is the unprivileged user the test host's nested QEMU runs
// as: numbers, since the test host has no user database to speak of.
func testQEMUUser(t *testing.T) *qemu.User {
	t.Helper()
	u, err := qemu.LookupUser("65534:65534")
	if err != nil {
		t.Fatal(err)
	}
	return u
}
