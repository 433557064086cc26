package vfio

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
)

// TestIntegrationTestHostNestedQEMU passes real VFs to a QEMU running inside
// the test host (the host's own QEMU, from the shared /usr): one cold-plugged
// on the command line, one hot-plugged into a root port over QMP and
// unplugged again, each bound to vfio-pci first and restored after. The
// nested VM stays paused: realizing vfio-pci (opening the group, mapping
// guest memory through the IOMMU) is what is tested, not a nested boot
// (~90 s under TCG in TCG). With native PCIe hotplug and no guest driving
// the slot, QEMU completes device_del at once, so DEVICE_DELETED comes back
// without a guest's help.
func TestIntegrationTestHostNestedQEMU(t *testing.T) {
	if !testhost.Inside() {
		testhost.Run(t, testhost.Options{})
		return
	}
	pf, err := testhost.FindPF(sysRoot, testhost.NVMeVendor, testhost.NVMeDevice)
	if err != nil {
		t.Fatal(err)
	}
	setVFs(t, pf, 4)
	t.Cleanup(func() { setVFs(t, pf, 0) })
	vfs := vfsOf(t, pf)
	cold, hot := vfs[0], vfs[1]
	bindForTest(t, cold)
	hotRestore := bindForTest(t, hot)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	proc, client := startNested(t, ctx, cold)
	if !holdsGroup(t, proc.Pid(), cold) {
		t.Errorf("nested QEMU (pid %d) does not hold the VFIO group of cold-plugged %s", proc.Pid(), cold)
	}
	expectGuestDevice(t, ctx, client, "cold0", cold, true)

	start := time.Now()
	err = client.DeviceAdd(ctx, qmp.DeviceAddArgs{Driver: "vfio-pci", ID: "hot0", Bus: "rp1",
		Props: map[string]any{"host": hot, "romfile": ""}})
	if err != nil {
		t.Fatalf("device_add vfio-pci host=%s: %v", hot, err)
	}
	t.Logf("measured: hot-plug vfio-pci %s (device_add) in %s", hot, time.Since(start).Round(time.Millisecond))
	if !holdsGroup(t, proc.Pid(), hot) {
		t.Errorf("nested QEMU does not hold the VFIO group of hot-plugged %s", hot)
	}
	expectGuestDevice(t, ctx, client, "hot0", hot, true)

	start = time.Now()
	if err := client.DeviceDel(ctx, "hot0"); err != nil {
		t.Fatal(err)
	}
	t.Logf("measured: unplug %s (device_del to DEVICE_DELETED) in %s", hot, time.Since(start).Round(time.Millisecond))
	expectGuestDevice(t, ctx, client, "hot0", hot, false)
	if holdsGroup(t, proc.Pid(), hot) {
		t.Errorf("nested QEMU still holds the VFIO group of %s after DEVICE_DELETED", hot)
	}
	start = time.Now()
	if err := hotRestore.Apply(Sysfs{}, sysRoot); err != nil {
		t.Fatal(err)
	}
	t.Logf("measured: host driver state of %s restored in %s", hot, time.Since(start).Round(time.Millisecond))
	if drv := link(t, hot, "driver"); drv != "" {
		t.Errorf("%s driver = %q after restore, want none (as SetNumVFs left it)", hot, drv)
	}
}

// bindForTest binds bdf to vfio-pci and restores it when the test ends.
func bindForTest(t *testing.T, bdf string) Restore {
	t.Helper()
	r, err := Bind(Sysfs{}, sysRoot, bdf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Apply(Sysfs{}, sysRoot); err != nil {
			t.Error(err)
		}
	})
	return r
}

// startNested starts the host's QEMU, paused, with cold cold-plugged and a
// spare root port, and stops it (by PID) when the test ends.
func startNested(t *testing.T, ctx context.Context, cold string) (*qemu.Process, *qmp.Client) {
	t.Helper()
	dir := t.TempDir()
	cfg := qemu.Config{
		Name:      "kite-nested",
		Binary:    testutil.RequireQEMU(t),
		Machine:   qemu.Machine{Type: qemu.MachineQ35, NativeHotplug: true},
		Accel:     qemu.Accel{Type: qemu.AccelTCG, TBSizeMiB: 16},
		CPU:       qemu.CPU{Model: "max", VCPUs: 1},
		Memory:    qemu.Memory{SizeMiB: 128},
		QMPSocket: filepath.Join(dir, "qmp.sock"),
		PidFile:   filepath.Join(dir, "qemu.pid"),
		Paused:    true,
		RootPorts: qemu.RootPortPool("rp", 2),
		Devices:   []qemu.Device{qemu.VFIO{ID: "cold0", Bus: "rp0", Host: cold, NoROM: true}},
	}
	cmdline, err := cfg.Build()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	proc, err := qemu.Start(ctx, cmdline, qemu.StartOptions{LogPath: filepath.Join(dir, "qemu.log")})
	if err != nil {
		t.Fatalf("nested QEMU with vfio-pci host=%s: %v\ncommand: %s", cold, err, cmdline.String())
	}
	t.Logf("measured: nested QEMU up with vfio-pci %s realized in %s", cold, time.Since(start).Round(time.Millisecond))
	client, err := qmp.Dial(ctx, cmdline.QMPSocket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := proc.Stop(sctx, client, qemu.StopTimeouts{Quit: 5 * time.Second, Term: 5 * time.Second, Kill: 5 * time.Second}); err != nil {
			t.Error(err)
		}
		client.Close()
	})
	return proc, client
}

// holdsGroup reports whether process pid has bdf's /dev/vfio/<group> open.
func holdsGroup(t *testing.T, pid int, bdf string) bool {
	t.Helper()
	g, err := GroupOf(sysRoot, bdf)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("/dev/vfio", strconv.Itoa(g.Number))
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(fdDir, e.Name())); err == nil {
			open = append(open, target)
		}
	}
	return slices.Contains(open, want)
}

// expectGuestDevice checks through QOM that the device id exists, realized
// and passing through host function bdf, or is gone. (query-pci lists no
// device behind a root port until firmware numbers the buses, and the
// nested VM never runs.)
func expectGuestDevice(t *testing.T, ctx context.Context, c *qmp.Client, id, bdf string, present bool) {
	t.Helper()
	path := "/machine/peripheral/" + id
	var realized bool
	err := c.Execute(ctx, "qom-get", map[string]string{"path": path, "property": "realized"}, &realized)
	if !present {
		if err == nil {
			t.Errorf("QOM still has %s after DEVICE_DELETED", path)
		}
		return
	}
	if err != nil || !realized {
		t.Fatalf("QOM %s realized = %v (%v), want true", path, realized, err)
	}
	var host string
	if err := c.Execute(ctx, "qom-get", map[string]string{"path": path, "property": "host"}, &host); err != nil || host != bdf {
		t.Errorf("QOM %s host = %q (%v), want %s", path, host, err, bdf)
	}
}
