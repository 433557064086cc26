package sandbox_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/sriovtest"
	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vfio"
	"golang.org/x/sys/unix"
)

// The nested tests boot a whole Kite guest inside the test host, TCG in
// TCG: about 2 minutes each with the Kite kernel, in every CI run (`make
// test-nested` runs them alone; docs/passthrough.md has the times).

// nestedOptions are the test host's for a nested sandbox: the guest with
// the passthrough drivers copied in, and time for a boot in TCG in TCG.
func nestedOptions(t *testing.T) testhost.Options {
	return testhost.Options{GuestDir: sriovtest.DriverGuest(t),
		MemoryMiB: 2048, Timeout: 45 * time.Minute}
}

// TestNestedNVMeVF boots a Kite sandbox inside the test host with a real
// NVMe VF (QEMU's SR-IOV NVMe, brought online through its PF) claimed by
// the device plugin's variable and passed through with vfio-pci: the
// guest's nvme driver binds it at the guest PCI path Kite computed, the
// container reads and writes the namespace through it, and the test host
// reads what the container wrote through the PF, which shares the
// namespace. The VF is back with its host state afterwards.
func TestNestedNVMeVF(t *testing.T) {
	if !testhost.Inside() {
		res := testhost.Run(t, nestedOptions(t))
		t.Logf("measured: test host boot %s, inner run %s", res.BootTime.Round(time.Millisecond), res.RunTime.Round(time.Millisecond))
		return
	}
	const root = "/sys"
	pf, err := testhost.FindPF(root, testhost.NVMeVendor, testhost.NVMeDevice)
	if err != nil {
		t.Fatal(err)
	}
	vf := sriovtest.NVMeVFs(t, root, 1)[0]
	sriovtest.OnlineNVMeVFs(t, root, pf)
	before := sriovtest.DriverOf(t, root, vf)
	ns := pfNamespace(t, root, pf)
	marker := []byte("host-wrote-vf0")
	writeAt(t, ns, marker, 0)

	cfg, host := integrationConfig(t)
	nestedConfig(cfg)
	c1 := functionContainer(t, "c1", vmtest.BusyboxRootfs(t), "", `set -- vf; `+nvmeScript, nil, []string{"PCIDEVICE_KITE_IO_NVME=" + vf})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	p := createWithin(t, ctx, sandbox.Config{ID: "nested", Config: cfg, Host: host, SysfsRoot: root}, c1)
	t.Logf("measured: nested sandbox created in %s (%+v)", time.Since(start).Round(time.Millisecond), p.Machine().Timings())
	if drv := sriovtest.DriverOf(t, root, vf); drv != "vfio-pci" {
		t.Errorf("%s is bound to %q while passed through, want vfio-pci", vf, drv)
	}
	start = time.Now()
	out, code := runWithin(t, ctx, p, c1)
	t.Logf("container (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	vars := envLines(out)
	if !guestBDF.MatchString(vars["NVME"]) {
		t.Errorf("NVME = %q, want the VF's guest address", vars["NVME"])
	}
	for _, want := range []string{"DEVS nvme0n1\n", "READ " + string(marker), "WROTE"} {
		if !strings.Contains(out, want) || code != 0 {
			t.Errorf("container output lacks %q (exit %d)", want, code)
		}
	}
	stopAndCheck(t, p)
	if got := readAt(t, ns, 512, 16); !bytes.HasPrefix(got, []byte("guest-wrote-vf")) {
		t.Errorf("the PF reads %q at 512, want what the container wrote through the VF", got)
	}
	if drv := sriovtest.DriverOf(t, root, vf); drv != before {
		t.Errorf("%s driver = %q after the sandbox, want %q", vf, drv, before)
	}
}

// pfNamespace is the test host's disk of the PF's namespace 1: with a
// shared namespace the kernel makes a multipath head, nvme<subsys>n1, whose
// path is the PF's controller. The VFs are on vfio-pci: the PF is the test
// host's only NVMe controller.
func pfNamespace(t *testing.T, root, pf string) string {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		m, _ := filepath.Glob(filepath.Join(root, "block", "nvme*n1"))
		for _, d := range m {
			if name := filepath.Base(d); !strings.Contains(name, "c") {
				if _, err := os.Stat("/dev/" + name); err == nil {
					return "/dev/" + name
				}
			}
		}
	}
	t.Fatalf("the NVMe PF %s has no namespace 1", pf)
	return ""
}

func writeAt(t *testing.T, dev string, b []byte, off int64) {
	t.Helper()
	f, err := os.OpenFile(dev, os.O_WRONLY|os.O_SYNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// readAt reads n bytes at off, past the page cache (the VF wrote under it).
func readAt(t *testing.T, dev string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.IoctlSetInt(int(f.Fd()), unix.BLKFLSBUF, 0); err != nil {
		t.Fatalf("dropping the buffer cache of %s: %v", dev, err)
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNestedIGBVF boots a Kite sandbox inside a test host with QEMU 10's
// igb NIC: its VF, bound to igbvf, with an admin MAC set through the PF,
// moved into a pod netns and configured there as the SR-IOV CNI leaves it,
// becomes the pod's physical endpoint: a devices.vf rule puts it on VLAN
// 100 with a rate limit through the PF, it is passed through with
// vfio-pci, bound by the guest's igbvf at its guest PCI path, configured
// with the pod's name, MAC and address, and it passes traffic to the PF's
// VLAN 100 interface (igb switches between its VFs and its PF, tagging
// the VF's frames; the PF has the address on VLAN 100 alone, so an
// untagged frame gets no answer). Afterwards the VF's netdev is back in
// the pod netns as it was, and the PF's table for it too.
func TestNestedIGBVF(t *testing.T) {
	if !testhost.Inside() {
		o := nestedOptions(t)
		o.IGB = true
		res := testhost.Run(t, o)
		t.Logf("measured: test host boot %s, inner run %s", res.BootTime.Round(time.Millisecond), res.RunTime.Round(time.Millisecond))
		return
	}
	const root = "/sys"
	pf, vf := sriovtest.IGBVF(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pfDev, err := netmodels.NetdevOfBDF(ctx, root, pf)
	if err != nil {
		t.Fatal(err)
	}
	vfDev, err := netmodels.NetdevOfBDF(ctx, root, vf)
	if err != nil {
		t.Fatal(err)
	}
	const mac = "02:4b:69:74:65:91"
	pod := netnstest.NewNetns(t, "pod")
	ns := filepath.Base(pod)
	for _, args := range [][]string{
		{"link", "set", pfDev, "vf", "0", "mac", mac},
		{"link", "add", "link", pfDev, "name", "pf.100", "type", "vlan", "id", "100"},
		{"addr", "add", "10.91.0.1/24", "dev", "pf.100"}, {"link", "set", pfDev, "up"}, {"link", "set", "pf.100", "up"},
		{"link", "set", vfDev, "netns", ns},
		// As the SR-IOV CNI does: the netdev gets the MAC the PF holds.
		{"-n", ns, "link", "set", vfDev, "name", "net1"}, {"-n", ns, "link", "set", "net1", "address", mac},
		{"-n", ns, "addr", "add", "10.91.0.2/24", "dev", "net1"},
		{"-n", ns, "link", "set", "net1", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	// The kernel gives net1 its IPv6 link-local address once the emulated
	// link is up: the snapshot is taken after that, as a CNI's pod would be.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, _ := exec.Command("ip", "-n", ns, "-6", "addr", "show", "dev", "net1").Output()
		if strings.Contains(string(out), "fe80::") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("net1 got no IPv6 link-local address within a minute:\n%s", out)
		}
	}
	podBefore := netnstest.Snapshot(t, pod)
	vfInfo, _, err := vfio.VFOf(root, vf)
	if err != nil {
		t.Fatal(err)
	}
	tableBefore, err := vfInfo.Settings()
	if err != nil {
		t.Fatal(err)
	}

	cfg, host := integrationConfig(t)
	nestedConfig(cfg)
	cfg.Network.Model = configs.NetTCFilter
	vlan, rate := 100, 500
	cfg.Devices.VF = []configs.VFRule{{PF: pfDev, VLAN: &vlan, MaxTxRate: &rate}}
	c1 := functionContainer(t, "c1", netRootfs(t), pod, `ip -o -4 addr show net1; ip -o link show net1
ping -c 3 -w 60 10.91.0.1 >/dev/null && echo PINGED`, netCaps, nil)
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer ccancel()
	// Frames the PF takes in on pf.100 came tagged with VLAN 100: the
	// VF's, tagged by the PF's port VLAN (an untagged frame counts on the
	// PF's own netdev, and Linux would answer it too).
	tagged := func() int {
		b, err := os.ReadFile("/sys/class/net/pf.100/statistics/rx_packets")
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	taggedBefore := tagged()
	start := time.Now()
	p := createWithin(t, cctx, sandbox.Config{ID: "nestedvf", Config: cfg, Host: host, SysfsRoot: root}, c1)
	t.Logf("measured: nested sandbox with igb VF %s created in %s (%+v)", vf, time.Since(start).Round(time.Millisecond), p.Machine().Timings())
	out, code := runWithin(t, cctx, p, c1)
	t.Logf("container:\n%s", out)
	for _, want := range []string{"inet 10.91.0.2/24", mac, "PINGED"} {
		if !strings.Contains(out, want) || code != 0 {
			t.Errorf("container output lacks %q (exit %d)", want, code)
		}
	}
	if n := tagged() - taggedBefore; n < 3 {
		t.Errorf("pf.100 took in %d frames while the container pinged, want the 3 echo requests tagged with VLAN 100 at least", n)
	} else {
		t.Logf("pf.100 took in %d frames tagged with VLAN 100", n)
	}
	during, err := vfInfo.Settings()
	if err != nil {
		t.Fatal(err)
	}
	if *during.VLAN != (vfio.VLAN{ID: 100, Proto: vfio.VLAN8021Q}) || *during.Rate != (vfio.Rate{MaxMbps: 500}) {
		t.Errorf("the PF's table for the VF while the pod runs: %s, want vlan 100 max_tx_rate 500", during)
	}
	stopAndCheck(t, p)
	if diff := cmp.Diff(podBefore, netnstest.Snapshot(t, pod)); diff != "" {
		t.Errorf("pod netns differs after the sandbox (-before +after):\n%s", diff)
	}
	if after, err := vfInfo.Settings(); err != nil || !cmp.Equal(tableBefore, after) {
		t.Errorf("the PF's table for the VF after the sandbox: %s (%v)\nwant as before: %s", after, err, tableBefore)
	}
}

// nestedConfig tunes a sandbox for TCG in TCG inside the test host: QEMU
// as root (the test host has no kite-qemu user), 9p (no virtiofsd there),
// one vCPU and the least memory, no crypto self-tests, and the longest
// waits the configuration allows.
func nestedConfig(cfg *configs.Config) {
	cfg.Hypervisor.User = "root"
	cfg.SharedFS.Driver = configs.FSVirtio9P
	cfg.Hypervisor.VCPUs = 1
	cfg.Hypervisor.MemoryMiB, cfg.Hypervisor.MaxMemoryMiB = 256, 256
	cfg.Hypervisor.KernelParams = "cryptomgr.notests"
	cfg.Agent.DialTimeout = configs.Duration(10 * time.Minute)
	cfg.Hotplug.DeviceTimeout = configs.Duration(2 * time.Minute)
}

// runWithin is runContainer bounded by ctx (a nested guest is slow).
func runWithin(t *testing.T, ctx context.Context, p pod, c *spec.Container) (string, int) {
	t.Helper()
	var out syncBuffer
	ctr, err := p.CreateContainer(ctx, c, sandbox.IO{Stdout: &out})
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", c.ID, err)
	}
	if err := ctr.Start(ctx); err != nil {
		t.Fatalf("Start %s: %v", c.ID, err)
	}
	e, err := ctr.Init().Wait(ctx)
	if err != nil {
		t.Fatalf("waiting for %s: %v", c.ID, err)
	}
	return out.String(), e.Code
}
