package runtime

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

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/sysfs"
	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/vfio"
)

// TestIntegrationPCIPassthroughTestHost runs inside the test host (a VM
// with an emulated IOMMU and an SR-IOV NVMe PF): the boot step that passes
// VFs through binds them to vfio-pci (their /dev/vfio nodes appear) and
// the VM's teardown restores their drivers; a function whose IOMMU group
// holds a device the host uses is refused before anything is unbound.
func TestIntegrationPCIPassthroughTestHost(t *testing.T) {
	if !testhost.Inside() {
		testhost.Run(t, testhost.Options{})
		return
	}
	const root = "/sys"
	vfs := nvmeVFs(t, root, 2)
	before := map[string]string{}
	for _, vf := range vfs {
		before[vf] = driverOf(t, root, vf)
	}

	b := pciBooter(t, root, vfs)
	start := time.Now()
	if err := b.bindPCIDevices(); err != nil {
		t.Fatalf("binding %v: %v", vfs, err)
	}
	t.Logf("bound %d VFs to vfio-pci in %s", len(vfs), time.Since(start).Round(time.Millisecond))
	for _, vf := range vfs {
		if drv := driverOf(t, root, vf); drv != vfio.VFIODriver {
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
	if err := b.vm.teardown(context.Background()); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	for _, vf := range vfs {
		if drv := driverOf(t, root, vf); drv != before[vf] {
			t.Errorf("%s driver = %q after teardown, want %q as before", vf, drv, before[vf])
		}
	}

	shared := testhost.SharesSlot + ".1" // in a group with the host's /usr share
	nb := pciBooter(t, root, []string{shared})
	err := nb.bindPCIDevices()
	if !errors.Is(err, vfio.ErrNotViable) || !strings.Contains(err.Error(), testhost.SharesSlot+".0") {
		t.Errorf("passing %s through = %v, want ErrNotViable naming %s.0", shared, err, testhost.SharesSlot)
	}
	if drv := driverOf(t, root, shared); drv != "virtio-pci" {
		t.Errorf("%s driver = %q after the refusal, want virtio-pci untouched", shared, drv)
	}
}

func pciBooter(t *testing.T, root string, bdfs []string) *booter {
	t.Helper()
	devs, _, _, err := planPCIDevices(bdfs)
	if err != nil {
		t.Fatal(err)
	}
	return &booter{vm: &VM{plan: VMPlan{ID: "pci", PCI: devs, SysfsRoot: root}}}
}

// nvmeVFs gives the test host's NVMe PF n VFs (no host driver), removed
// at test end, and returns their addresses in VF order.
func nvmeVFs(t *testing.T, root string, n int) []string {
	t.Helper()
	pf, err := testhost.FindPF(root, testhost.NVMeVendor, testhost.NVMeDevice)
	if err != nil {
		t.Fatal(err)
	}
	if err := vfio.SetNumVFs(vfio.Sysfs{}, root, pf, vfio.VFCount{NumVFs: n}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vfio.SetNumVFs(vfio.Sysfs{}, root, pf, vfio.VFCount{NumVFs: 0}) })
	vfs := make([]string, n)
	for i := range vfs {
		vf, err := sysfs.LinkBase(filepath.Join(root, "bus/pci/devices", pf, "virtfn"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		vfs[i] = vf
	}
	return vfs
}

func driverOf(t *testing.T, root, bdf string) string {
	t.Helper()
	drv, err := sysfs.LinkBase(filepath.Join(root, "bus/pci/devices", bdf, "driver"))
	if err != nil {
		t.Fatal(err)
	}
	return drv
}

// TestIntegrationPCIHotplugTestHost hot-plugs a VF into a running QEMU
// inside the test host (paused, native PCIe hotplug, so that device_del
// completes without a guest driving the slot): the host half of
// AddPCIDevice binds it to vfio-pci and QEMU opens its group; the unplug
// waits for DEVICE_DELETED, frees the port and restores the driver.
func TestIntegrationPCIHotplugTestHost(t *testing.T) {
	if !testhost.Inside() {
		testhost.Run(t, testhost.Options{})
		return
	}
	const root = "/sys"
	vf := nvmeVFs(t, root, 1)[0]
	before := driverOf(t, root, vf)
	vm := pausedVM(t, root)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	h, err := vm.plugPCIDevice(ctx, vf)
	if err != nil {
		t.Fatalf("hot-plugging %s: %v", vf, err)
	}
	t.Logf("measured: %s bound and device_add answered in %s (port %s)", vf, time.Since(start).Round(time.Millisecond), h.dev.Port)
	if drv := driverOf(t, root, vf); drv != vfio.VFIODriver {
		t.Errorf("%s driver = %q while plugged, want vfio-pci", vf, drv)
	}
	if !holdsVFIOGroup(t, root, vm.Pid(), vf) {
		t.Errorf("QEMU does not hold the VFIO group of %s", vf)
	}
	if _, err := vm.plugPCIDevice(ctx, testhost.SharesSlot+".1"); !errors.Is(err, vfio.ErrNotViable) {
		t.Errorf("hot-plugging a function whose group the host uses = %v, want ErrNotViable", err)
	}
	start = time.Now()
	if err := vm.unplugPCIDevice(ctx, h); err != nil {
		t.Fatal(err)
	}
	t.Logf("measured: unplugged (DEVICE_DELETED) and restored in %s", time.Since(start).Round(time.Millisecond))
	if drv := driverOf(t, root, vf); drv != before {
		t.Errorf("%s driver = %q after unplug, want %q", vf, drv, before)
	}
	if holdsVFIOGroup(t, root, vm.Pid(), vf) {
		t.Errorf("QEMU still holds the group of %s after the unplug", vf)
	}
	if _, err := vm.ports.take("again"); err != nil {
		t.Errorf("the port was not freed: %v", err)
	}
}

// pausedVM starts the test host's QEMU paused, with two spare root ports
// and native hotplug, and wraps it as a VM for the hot-plug code.
func pausedVM(t *testing.T, root string) *VM {
	t.Helper()
	dir := t.TempDir()
	cfg := qemu.Config{
		Name: "kite-hot", Binary: testutil.RequireQEMU(t),
		Machine: qemu.Machine{Type: qemu.MachineQ35, NativeHotplug: true},
		Accel:   qemu.Accel{Type: qemu.AccelTCG, TBSizeMiB: 16}, CPU: qemu.CPU{Model: "max", VCPUs: 1},
		Memory: qemu.Memory{SizeMiB: 128}, Paused: true,
		QMPSocket: filepath.Join(dir, "qmp.sock"), PidFile: filepath.Join(dir, "qemu.pid"),
		RootPorts: qemu.RootPortPool(rootPortPrefix, 1),
	}
	cl, err := cfg.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	proc, err := qemu.Start(ctx, cl, qemu.StartOptions{LogPath: filepath.Join(dir, "qemu.log")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := qmp.Dial(ctx, cl.QMPSocket)
	if err != nil {
		proc.Signal(syscall.SIGKILL)
		t.Fatal(err)
	}
	vm := &VM{QMP: q, proc: proc, plan: VMPlan{ID: "hot", SysfsRoot: root, ShutdownTimeout: 5 * time.Second},
		ports: newPorts(cfg.RootPorts), hotPCI: map[string]*hotPCI{}}
	t.Cleanup(func() { vm.stopQEMU(context.Background()) })
	return vm
}

// holdsVFIOGroup reports whether process pid has bdf's /dev/vfio/<group>
// open.
func holdsVFIOGroup(t *testing.T, root string, pid int, bdf string) bool {
	t.Helper()
	g, err := vfio.GroupOf(root, bdf)
	if err != nil {
		t.Fatal(err)
	}
	want := "/dev/vfio/" + strconv.Itoa(g.Number)
	fds, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "fd", "*"))
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && target == want {
			return true
		}
	}
	return false
}

// TestIntegrationSandboxPassthroughTestHost starts a sandbox's QEMU from
// Kite's own plan inside the test host, with one VF cold-plugged
// (VMInput.PCIDevices) and another hot-plugged into a spare root port over
// QMP, then unplugged; the teardown gives both back to their host state.
// The guest is not booted (QEMU stays paused: a nested boot takes ~90 s
// under TCG in TCG), so hot plug is native PCIe, which completes device_del
// without a guest.
func TestIntegrationSandboxPassthroughTestHost(t *testing.T) {
	if !testhost.Inside() {
		testhost.Run(t, testhost.Options{})
		return
	}
	const root = "/sys"
	vfs := nvmeVFs(t, root, 2)
	cold, hot := vfs[0], vfs[1]
	before := map[string]string{cold: driverOf(t, root, cold), hot: driverOf(t, root, hot)}

	cfg := configs.Default()
	cfg.Hypervisor.Path = testutil.RequireQEMU(t)
	cfg.Hypervisor.MemoryMiB = 128
	cfg.Hotplug.Method = configs.HotplugNative
	cfg.Hotplug.Spare9PShares = 0
	dir := filepath.Join(t.TempDir(), "sb")
	p, err := PlanVM(cfg, VMInput{ID: "pass", Dir: dir, Host: Host{Accel: qemu.AccelTCG}, PCIDevices: []string{cold}, SysfsRoot: root})
	if err != nil {
		t.Fatal(err)
	}
	p.QEMU.Kernel, p.QEMU.Paused = qemu.Kernel{}, true // no guest: see above
	b := &booter{vm: &VM{plan: p, ports: newPorts(p.QEMU.RootPorts[len(p.PCI):]), hotPCI: map[string]*hotPCI{}}, start: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t.Cleanup(func() { b.vm.teardown(context.Background()) })
	if err := makeSandboxDir(p.Dir); err != nil {
		t.Fatal(err)
	}
	b.vm.pushUndo("remove sandbox directory", func(context.Context) error { return p.removeSandboxDir() })
	for _, step := range []func() error{
		b.listenAgent, b.bindPCIDevices,
		func() error { return b.startQEMU(ctx) },
		func() error { return b.dialQMP(ctx) },
	} {
		if err := step(); err != nil {
			t.Fatalf("booting the sandbox's QEMU: %v", err)
		}
	}
	t.Logf("measured: sandbox QEMU up with %s cold-plugged in %s", cold, time.Since(b.start).Round(time.Millisecond))
	if !holdsVFIOGroup(t, root, b.vm.Pid(), cold) {
		t.Errorf("the sandbox's QEMU does not hold the group of cold-plugged %s", cold)
	}
	start := time.Now()
	h, err := b.vm.plugPCIDevice(ctx, hot)
	if err != nil {
		t.Fatalf("hot-plugging %s: %v", hot, err)
	}
	t.Logf("measured: %s hot-plugged (bind + device_add) in %s", hot, time.Since(start).Round(time.Millisecond))
	if !holdsVFIOGroup(t, root, b.vm.Pid(), hot) {
		t.Errorf("the sandbox's QEMU does not hold the group of hot-plugged %s", hot)
	}
	b.vm.hotPCI[hot] = h
	if err := b.vm.RemovePCIDevice(ctx, hot); err != nil {
		t.Fatalf("unplugging %s: %v", hot, err)
	}
	if drv := driverOf(t, root, hot); drv != before[hot] {
		t.Errorf("%s driver = %q after the unplug, want %q", hot, drv, before[hot])
	}
	if err := b.vm.teardown(ctx); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	for _, vf := range vfs {
		if drv := driverOf(t, root, vf); drv != before[vf] {
			t.Errorf("%s driver = %q after teardown, want %q", vf, drv, before[vf])
		}
	}
	if _, err := os.Stat(p.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sandbox directory left: %v", err)
	}
}
