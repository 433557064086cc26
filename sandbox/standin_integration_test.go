package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/sriovtest"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The host functions the stand-in tests pretend to have, in a fake sysfs:
// a NIC VF (its netdev is the pod's net1), NVMe VFs the host bound to
// vfio-pci (one with an iommufd node, vfio0), and one it did not.
const (
	vfNIC      = "0000:3b:02.1" // igbvf, group 41
	vfNVMe     = "0000:5e:00.2" // vfio-pci, group 42, /dev/vfio/devices/vfio0
	vfNVMeHot  = "0000:5e:00.3" // vfio-pci, group 43
	vfNVMeHost = "0000:5e:00.4" // nvme (in host use), group 44
	vfDPDKA    = "0000:3b:02.2" // vfio-pci, group 45: the device plugin's DPDK pool
	vfDPDKB    = "0000:3b:02.3" // vfio-pci, group 46
	vfNICMAC   = "02:4b:69:74:65:31"
)

// standInHost builds the fake sysfs and returns its root and a snapshot
// function (every link and file, for "the host is unchanged").
func standInHost(t testing.TB) (string, func() string) {
	tr := sysfstest.New(t)
	tr.Add(sysfstest.Function{BDF: vfNIC, Vendor: "0x8086", Device: "0x10ca", Class: "0x020000", NUMANode: "0", IOMMUGroup: "41", Driver: "igbvf", Netdevs: []string{"net1"}})
	dir := tr.Add(sysfstest.Function{BDF: vfNVMe, Vendor: "0x1b36", Device: "0x0010", Class: "0x010802", NUMANode: "0", IOMMUGroup: "42", Driver: "vfio-pci"})
	sysfstest.Symlink(t, tr.Root, "class/vfio-dev/vfio0/device", dir)
	tr.Add(sysfstest.Function{BDF: vfNVMeHot, Vendor: "0x1b36", Device: "0x0010", Class: "0x010802", NUMANode: "0", IOMMUGroup: "43", Driver: "vfio-pci"})
	tr.Add(sysfstest.Function{BDF: vfDPDKA, Vendor: "0x8086", Device: "0x10ca", Class: "0x020000", NUMANode: "0", IOMMUGroup: "45", Driver: "vfio-pci"})
	tr.Add(sysfstest.Function{BDF: vfDPDKB, Vendor: "0x8086", Device: "0x10ca", Class: "0x020000", NUMANode: "0", IOMMUGroup: "46", Driver: "vfio-pci"})
	tr.Add(sysfstest.Function{BDF: vfNVMeHost, Vendor: "0x1b36", Device: "0x0010", Class: "0x010802", NUMANode: "0", IOMMUGroup: "44", Driver: "nvme"})
	return tr.Root, func() string {
		var b strings.Builder
		filepath.Walk(tr.Root, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			b.WriteString(strings.TrimPrefix(p, tr.Root))
			if fi.Mode()&os.ModeSymlink != 0 {
				target, _ := os.Readlink(p)
				b.WriteString(" -> " + target)
			} else if fi.Mode().IsRegular() {
				data, _ := os.ReadFile(p)
				b.WriteString(" = " + string(data))
			}
			b.WriteString("\n")
			return nil
		})
		return b.String()
	}
}

// nvmeImage is a namespace image whose first bytes say marker, in a
// directory QEMU's own user (hypervisor.user) can reach.
func nvmeImage(t *testing.T, marker string) string {
	dir, err := os.MkdirTemp("", "kite-ns-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := filepath.Join(dir, "ns.img")
	if err := os.WriteFile(p, append([]byte(marker), make([]byte, 8<<20-len(marker))...), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(os.Chmod(dir, 0o755), os.Chmod(p, 0o666)); err != nil {
		t.Fatal(err)
	}
	return p
}

// standInNetdev makes the pod's net1 as the SR-IOV CNI leaves a VF: its
// MAC, MTU, address, up, and a route through a gateway. A bridge without
// ports stands for it: the engine carries no bridge by itself, so only the
// stand-in's Netdev makes it a physical endpoint.
func standInNetdev(t *testing.T, n *netnstest.Pod) {
	for _, args := range [][]string{
		{"link", "add", "net1", "address", vfNICMAC, "mtu", "1400", "type", "bridge"},
		{"addr", "add", "10.79.0.2/24", "dev", "net1"},
		{"link", "set", "net1", "up"},
		{"route", "add", "10.98.0.0/24", "via", "10.79.0.1", "dev", "net1"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", n.Name}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
}

// functionContainer is container() with an environment, host device nodes
// in linux.devices and the pod netns at netnsPath ("" for a network
// namespace of its own).
func functionContainer(t testing.TB, id, rootfs, netnsPath, script string, caps, env []string, devs ...string) *spec.Container {
	t.Helper()
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: rootfs},
		Process: &specs.Process{Args: []string{"/bin/sh", "-c", script}, Cwd: "/", Env: append([]string{"PATH=/bin"}, env...)},
		Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}}},
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
			{Type: specs.IPCNamespace}, {Type: specs.NetworkNamespace, Path: netnsPath}}},
	}
	if len(caps) > 0 {
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
	}
	for _, d := range devs {
		s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: d, Type: "c", Major: 242})
	}
	c, err := spec.Convert(s, spec.Input{ContainerID: id, Bundle: filepath.Dir(rootfs)})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return c
}

// guestBDF matches a guest PCI address behind a root port (bus 01 and up).
var guestBDF = regexp.MustCompile(`^0000:0[1-9a-f]:00\.0$`)

// nvmeScript prints the container's variables and devices, reads the
// host's marker from its one NVMe namespace and writes its own at 512.
const nvmeScript = `echo "NVME=$PCIDEVICE_KITE_IO_NVME"
echo "INFO=$PCIDEVICE_KITE_IO_NVME_INFO"
echo DEVS $(ls /dev | grep nvme)
d=$(ls /dev/nvme*n1)
echo "READ $(dd if=$d bs=14 count=1 2>/dev/null)"
printf guest-wrote-%s "$1" | dd of=$d bs=512 seek=1 conv=sync,fsync 2>/dev/null && echo WROTE
`

// TestIntegrationStandInGuestKernel runs the guest side of passthrough for
// real with emulated devices placed where passed-through functions go
// (devicemgr.StandIn), through the engine's own path: the first
// container's functions, named by the device plugin's variables and an
// iommufd node (the same function twice, plugged once), are claimed and
// cold-plugged on their root ports; the NIC, also the pod's net1, becomes
// the physical endpoint: the agent finds it at its guest PCI path, its
// driver binds it, and it gets net1's name, MAC, MTU, address and route, and
// pings go both ways between the container and the node's wire; the NVMe's
// namespace is the container's /dev/nvme0n1, read and written. A second
// container's NVMe (its variable and /dev/vfio/<group>) is hot-plugged.
// Every variable names guest addresses. Afterwards the host, the pod netns
// and the claims are as before, and the images hold what the guest wrote.
func TestIntegrationStandInGuestKernel(t *testing.T) {
	cfg, host := integrationConfig(t)
	gdir := sriovtest.DriverGuest(t)
	cfg.Guest.Dir, cfg.Guest.Kernel, cfg.Guest.Initrd = gdir, filepath.Join(gdir, "vmlinux"), filepath.Join(gdir, "initramfs.cpio.gz")
	cfg.Network.Model = configs.NetTCFilter
	cfg.Hotplug.SpareRootPorts = 2
	root, snapshot := standInHost(t)
	sysBefore := snapshot()
	n := netnstest.New(t)
	standInNetdev(t, n)
	podBefore := n.Snapshot()
	tap := sriovtest.WireTap(t, n.NodePath, "kvf0", "10.79.0.1/24")
	img0, img1 := nvmeImage(t, "host-wrote-ns0"), nvmeImage(t, "host-wrote-ns1")
	standIns := map[string]*devicemgr.StandIn{
		vfNIC:     {NIC: qemu.NICE1000E, MAC: vfNICMAC, Tap: tap, Netdev: "net1"},
		vfNVMe:    {NVMeImage: img0},
		vfNVMeHot: {NVMeImage: img1},
	}
	rootfs := netRootfs(t)
	hostInfo := `{"` + vfNVMe + `":{"generic":{"deviceID":"` + vfNVMe + `"},"vfio":{"dev-mount":"/dev/vfio/42","mount":"/dev/vfio/vfio"}}}`
	c1 := functionContainer(t, "c1", rootfs, n.PodPath, `set -- 0; `+nvmeScript+`
echo "NET=$PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE"
ip -o -4 addr show net1; ip -o link show net1; ip route show dev net1
ping -c 2 -W 5 10.79.0.1 >/dev/null && echo PINGED
echo DONE; exec sleep 3600`, netCaps,
		[]string{"PCIDEVICE_INTEL_COM_SRIOV_NETDEVICE=" + vfNIC, "PCIDEVICE_KITE_IO_NVME=" + vfNVMe, "PCIDEVICE_KITE_IO_NVME_INFO=" + hostInfo},
		"/dev/vfio/devices/vfio0")

	p := createWith(t, sandbox.Config{ID: "standin", Config: cfg, Host: host, SysfsRoot: root, StandIns: standIns}, c1)
	out := keepRunning(t, p, c1)
	code := 0
	t.Logf("container c1:\n%s", out)
	vars := envLines(out)
	for _, v := range []string{"NET", "NVME"} {
		if !guestBDF.MatchString(vars[v]) {
			t.Errorf("%s = %q, want a guest address", v, vars[v])
		}
	}
	wantInfo := `{"` + vars["NVME"] + `":{"generic":{"deviceID":"` + vars["NVME"] + `"}}}`
	if vars["INFO"] != wantInfo {
		t.Errorf("INFO = %s, want %s (guest address, no host vfio node)", vars["INFO"], wantInfo)
	}
	for _, want := range []string{"inet 10.79.0.2/24", "mtu 1400", vfNICMAC, "10.98.0.0/24 via 10.79.0.1", "PINGED",
		"DEVS nvme0n1\n", "READ host-wrote-ns0", "WROTE"} {
		if !strings.Contains(out, want) || code != 0 {
			t.Errorf("container c1 output lacks %q (exit %d)", want, code)
		}
	}
	if out, err := n.Ping("10.79.0.2"); err != nil {
		t.Errorf("the node cannot ping the guest's net1 over the stand-in NIC: %v\n%s", err, out)
	}

	c2 := functionContainer(t, "c2", rootfs, n.PodPath, `set -- 1; `+nvmeScript, nil,
		[]string{"PCIDEVICE_KITE_IO_NVME=" + vfNVMeHot}, "/dev/vfio/43")
	out, code = runContainer(t, p, c2)
	t.Logf("container c2:\n%s", out)
	if v := envLines(out)["NVME"]; !guestBDF.MatchString(v) || v == vars["NVME"] {
		t.Errorf("c2's NVME = %q, want a guest address of its own", v)
	}
	for _, want := range []string{"DEVS nvme1n1\n", "READ host-wrote-ns1", "WROTE"} {
		if !strings.Contains(out, want) || code != 0 {
			t.Errorf("container c2 output lacks %q (exit %d)", want, code)
		}
	}
	if _, twice := p.Machine().Result("hpci2"); twice {
		t.Errorf("c2's function, named twice, was plugged twice")
	}
	stopAndCheck(t, p)
	for img, want := range map[string]string{img0: "guest-wrote-0", img1: "guest-wrote-1"} {
		b, _ := os.ReadFile(img)
		if !bytes.HasPrefix(b[512:], []byte(want)) {
			t.Errorf("%s at 512: %q, want %q", img, b[512:512+16], want)
		}
	}
	if diff := cmp.Diff(sysBefore, snapshot()); diff != "" {
		t.Errorf("the host's sysfs changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(podBefore, n.Snapshot()); diff != "" {
		t.Errorf("pod netns differs after the sandbox stopped (-before +after):\n%s", diff)
	}
	wantNoClaims(t, cfg)
}

// keepRunning creates and starts c, which prints DONE when its checks
// are done and then stays up (the pod's first container, whose
// namespaces later containers join), and returns what it printed.
func keepRunning(t *testing.T, p pod, c *spec.Container) string {
	t.Helper()
	return keepRunningUntil(t, p, c, "DONE\n")
}

// keepRunningUntil is keepRunning waiting for marker.
func keepRunningUntil(t testing.TB, p pod, c *spec.Container, marker string) string {
	t.Helper()
	ctx := testContext(t)
	var out syncBuffer
	ctr, err := p.CreateContainer(ctx, c, sandbox.IO{Stdout: &out})
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", c.ID, err)
	}
	if err := ctr.Start(ctx); err != nil {
		t.Fatalf("Start %s: %v", c.ID, err)
	}
	exited := make(chan struct{})
	go func() {
		ctr.Init().Wait(ctx)
		close(exited)
	}()
	for !strings.Contains(out.String(), marker) {
		select {
		case <-exited:
			t.Fatalf("%s exited before it printed %q:\n%s", c.ID, marker, out.String())
		case <-ctx.Done():
			t.Fatalf("%s did not print %q:\n%s", c.ID, marker, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return out.String()
}

// pingFrom pings addr from the netns at nsPath with busybox: three
// replies within 30 s (a forwarder may still be starting).
func pingFrom(nsPath, addr string) (string, error) {
	out, err := exec.Command("ip", "netns", "exec", filepath.Base(nsPath), "busybox", "ping", "-c", "3", "-w", "30", addr).CombinedOutput()
	return string(out), err
}

// createWith is createT with a sandbox configuration of the test's own.
func createWith(t testing.TB, sc sandbox.Config, first *spec.Container) pod {
	t.Helper()
	return createWithin(t, testContext(t), sc, first)
}

// createWithin is createWith bounded by ctx.
func createWithin(t testing.TB, ctx context.Context, sc sandbox.Config, first *spec.Container) pod {
	t.Helper()
	dir := filepath.Join(shortTempDir(t), sc.ID)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sc.Dir = dir
	sc.Config.Runtime.Root = filepath.Dir(dir)
	sb, err := sandbox.Create(ctx, sc, first)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console:\n%s", sb.Machine().Process().ConsoleTail(8192))
		}
		sb.Stop()
	})
	t.Logf("booted (accel %s): %+v", sb.Machine().Plan().QEMU.Accel.Type, sb.Machine().Timings())
	return pod{Sandbox: sb, dir: dir}
}

// envLines reads the KEY=value lines a container printed.
func envLines(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.ContainsAny(k, " \t") {
			m[k] = v
		}
	}
	return m
}

// wantNoClaims checks that no function is still claimed under the runtime
// root of cfg.
func wantNoClaims(t *testing.T, cfg *configs.Config) {
	t.Helper()
	recs, err := devicemgr.NewAllocator(cfg.Devices.AllocationDirUnder(cfg.Runtime.Root)).Records(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) > 0 {
		t.Errorf("claims left: %+v", recs)
	}
}

// TestIntegrationStandInRefusals: bad device requests fail the sandbox's
// creation before anything boots, with an error naming what is wrong; the
// host, its claims and the sandbox directory are left as they were.
func TestIntegrationStandInRefusals(t *testing.T) {
	cfg, host := integrationConfig(t)
	root, snapshot := standInHost(t)
	sysBefore := snapshot()
	rootfs := vmtest.BusyboxRootfs(t)
	runtimeRoot := shortTempDir(t)
	cfg.Runtime.Root = runtimeRoot
	alloc := devicemgr.NewAllocator(cfg.Devices.AllocationDirUnder(runtimeRoot))
	self, err := devicemgr.ProcessOf(devicemgr.DefaultProcRoot, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	fns, err := devicemgr.Inventory(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alloc.Allocate(testContext(t), devicemgr.Claim{Owner: devicemgr.Owner{Sandbox: "other/c1", Process: self}, Functions: fns,
		Requests: devicemgr.Requests{Exact: []devicemgr.ExactRequest{{Source: "test", BDFs: []string{vfNVMeHot}}}}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		env   []string
		devs  []string
		ann   map[string]string
		words []string
	}{
		{name: "group in host use", devs: []string{"/dev/vfio/44"},
			words: []string{"linux.devices /dev/vfio/44", vfNVMeHost + " of IOMMU group 44 is bound to nvme, not vfio-pci"}},
		{name: "no such group", devs: []string{"/dev/vfio/99"}, words: []string{"linux.devices /dev/vfio/99", "no IOMMU group 99"}},
		{name: "no such iommufd node", devs: []string{"/dev/vfio/devices/vfio7"}, words: []string{"/dev/vfio/devices/vfio7", "no VFIO device vfio7"}},
		{name: "VF whose PF vanished", env: []string{"PCIDEVICE_INTEL_COM_SRIOV=0000:3b:0a.3"},
			words: []string{"no such PCI function", "0000:3b:0a.3", "PCIDEVICE_INTEL_COM_SRIOV"}},
		{name: "claimed by another sandbox", env: []string{"PCIDEVICE_KITE_IO_NVME=" + vfNVMeHot},
			words: []string{vfNVMeHot, "belongs to sandbox other/c1"}},
		{name: "vfio mode without an IOMMU", env: []string{"PCIDEVICE_KITE_IO_NVME=" + vfNVMe},
			ann: map[string]string{"io.kite.devices.vfio_mode": "vfio"}, words: []string{"devices.vfio_mode", "needs hypervisor.enable_iommu = true"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := functionContainer(t, "c1", rootfs, "", "true", nil, tt.env, tt.devs...)
			c.Annotations = tt.ann
			dir := filepath.Join(runtimeRoot, "sb")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			defer os.Remove(dir)
			_, err := sandbox.Create(testContext(t), sandbox.Config{ID: "refused", Dir: dir, Config: cfg, Host: host, SysfsRoot: root}, c)
			if sandbox.Classify(err) != sandbox.ErrInvalidArgument {
				t.Errorf("Create = %v, want an invalid argument", err)
			}
			for _, w := range tt.words {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("error %v lacks %q", err, w)
				}
			}
			wantNothingLeft(t, dir)
		})
	}
	recs, err := alloc.Records(testContext(t))
	if err != nil || len(recs) != 1 || recs[0].Sandbox != "other/c1" {
		t.Errorf("claims after the refusals: %+v (%v), want only other/c1's", recs, err)
	}
	if diff := cmp.Diff(sysBefore, snapshot()); diff != "" {
		t.Errorf("the host's sysfs changed (-before +after):\n%s", diff)
	}
}

// TestIntegrationStandInNoGuestDriver: a function no guest driver takes
// (an NVMe stand-in in a guest without the nvme module) fails the
// sandbox's creation once the agent's wait ends, naming the function, its
// guest PCI path and the missing driver; nothing is left behind.
func TestIntegrationStandInNoGuestDriver(t *testing.T) {
	cfg, host := integrationConfig(t)
	gdir := sriovtest.DriverlessGuest(t)
	cfg.Guest.Dir, cfg.Guest.Kernel, cfg.Guest.Initrd = gdir, filepath.Join(gdir, "vmlinux"), filepath.Join(gdir, "initramfs.cpio.gz")
	cfg.Hotplug.DeviceTimeout = configs.Duration(3 * time.Second)
	root, snapshot := standInHost(t)
	sysBefore := snapshot()
	c := functionContainer(t, "c1", vmtest.BusyboxRootfs(t), "", "true", nil, []string{"PCIDEVICE_KITE_IO_NVME=" + vfNVMe})
	dir := filepath.Join(shortTempDir(t), "sb")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg.Runtime.Root = filepath.Dir(dir)
	_, err := sandbox.Create(testContext(t), sandbox.Config{ID: "nodriver", Dir: dir, Config: cfg, Host: host, SysfsRoot: root,
		StandIns: map[string]*devicemgr.StandIn{vfNVMe: {NVMeImage: nvmeImage(t, "x")}}}, c)
	for _, w := range []string{"no guest driver bound the function", "1b36:0010, class 010802", "PCI path 08/00", "kite guest build --modules"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Create error %v lacks %q", err, w)
		}
	}
	wantNothingLeft(t, dir)
	wantNoClaims(t, cfg)
	if diff := cmp.Diff(sysBefore, snapshot()); diff != "" {
		t.Errorf("the host's sysfs changed (-before +after):\n%s", diff)
	}
}
