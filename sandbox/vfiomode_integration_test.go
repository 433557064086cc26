package sandbox_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/internal/testing/sriovtest"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// dpdkRootfs is a busybox rootfs whose /usr is the host's (bound read-only
// by the container's spec): Debian's dpdk-testpmd and its libraries.
func dpdkRootfs(t testing.TB) string {
	rootfs := netRootfs(t)
	for _, l := range [][2]string{{"usr/lib", "lib"}, {"usr/lib64", "lib64"}} {
		if err := os.Symlink(l[0], filepath.Join(rootfs, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"usr", "var/run", "dev/hugepages"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return rootfs
}

// testpmdScript runs testpmd on the two functions the device plugin gave
// (by their guest addresses), after printing the vfio nodes and huge pages
// the container sees. A pipe that never ends is its stdin: testpmd runs
// until stdin does.
var testpmdScript = `echo "DPDK=$PCIDEVICE_INTEL_COM_DPDK"
echo "INFO=$PCIDEVICE_INTEL_COM_DPDK_INFO"
echo VFIO $(ls /dev/vfio)
grep HugePages_Total /proc/meminfo
a=${PCIDEVICE_INTEL_COM_DPDK%,*}; b=${PCIDEVICE_INTEL_COM_DPDK#*,}
sleep 100000 | exec /usr/bin/dpdk-testpmd --lcores 0@0,1@0 --iova-mode=va -a $a -a $b --file-prefix kite ` + strings.Join(sriovtest.TestpmdArgs, " ") + ` 2>&1`

// TestIntegrationStandInVFIOMode runs DPDK in a pod the way devices.vfio_mode
// "vfio" promises: the guest gets an IOMMU, the two functions the device
// plugin gave (stand-in e1000e NICs, each on a wire tap in a netns of its
// own) are bound to vfio-pci in the guest, and the container gets
// /dev/vfio/vfio, their /dev/vfio/<group> nodes and the guest's huge pages.
// dpdk-testpmd in the container (Debian's, from the host's /usr) forwards
// between them: the two netns ping each other through it. The forwarding
// rate is measured against the same testpmd on the host (its taps in two
// other netns), as a ratio.
func TestIntegrationStandInVFIOMode(t *testing.T) {
	f := dpdkForwarding(t)
	t.Logf("measured: testpmd io forwarding, 60-byte frames: guest (TCG, e1000e via the guest's vfio-pci) %.0f pps of %d sent; host (net_tap) %.0f pps of %d sent; ratio %.3f",
		f.guestPPS, f.guestSent, f.hostPPS, f.hostSent, f.guestPPS/f.hostPPS)
}

// BenchmarkStandInTestpmd measures testpmd's io forwarding in the guest
// (through the guest's vfio-pci, emulated NICs standing in for VFs)
// against the same testpmd on the host, as TestIntegrationStandInVFIOMode
// sets them up: run it with -run '^$' -bench StandInTestpmd -benchtime 1x.
// Under TCG the ratio is what to read, not the rates.
func BenchmarkStandInTestpmd(b *testing.B) {
	var f forwarding
	for range b.N {
		f = dpdkForwarding(b)
	}
	b.ReportMetric(f.guestPPS, "guest-pps")
	b.ReportMetric(f.hostPPS, "host-pps")
	b.ReportMetric(f.guestPPS/f.hostPPS, "guest/host")
}

// forwarding is what one measurement of testpmd's forwarding gave.
type forwarding struct {
	guestPPS, hostPPS   float64
	guestSent, hostSent uint64
}

// dpdkForwarding boots the DPDK sandbox, checks what the container sees,
// and measures its testpmd's forwarding, then the host's.
func dpdkForwarding(t testing.TB) forwarding {
	cfg, host := integrationConfig(t)
	gdir := sriovtest.DriverGuest(t)
	cfg.Guest.Dir, cfg.Guest.Kernel, cfg.Guest.Initrd = gdir, filepath.Join(gdir, "vmlinux"), filepath.Join(gdir, "initramfs.cpio.gz")
	cfg.Hypervisor.MemoryMiB, cfg.Hypervisor.MaxMemoryMiB = 512, 512
	cfg.Hypervisor.EnableIOMMU = true
	cfg.Devices.VFIOMode = configs.VFIOUserspace
	cfg.Devices.GuestHugepagesMiB = 64
	root, _ := standInHost(t)
	nsA, nsB := netnstest.NewNetns(t, "dpa"), netnstest.NewNetns(t, "dpb")
	tapA, tapB := sriovtest.WireTap(t, nsA, "kdpa", "10.66.0.1/24"), sriovtest.WireTap(t, nsB, "kdpb", "10.66.0.2/24")
	standIns := map[string]*devicemgr.StandIn{
		vfDPDKA: {NIC: qemu.NICE1000E, MAC: "02:4b:69:74:65:a1", Tap: tapA},
		vfDPDKB: {NIC: qemu.NICE1000E, MAC: "02:4b:69:74:65:b1", Tap: tapB},
	}
	rootfs := dpdkRootfs(t)
	caps := []string{"CAP_IPC_LOCK", "CAP_SYS_ADMIN", "CAP_SYS_RAWIO", "CAP_NET_ADMIN"}
	info := `{"` + vfDPDKA + `":{"generic":{"deviceID":"` + vfDPDKA + `"},"vfio":{"dev-mount":"/dev/vfio/45","mount":"/dev/vfio/vfio"}}}`
	c1 := functionContainer(t, "c1", rootfs, "", testpmdScript, caps,
		[]string{"PCIDEVICE_INTEL_COM_DPDK=" + vfDPDKA + "," + vfDPDKB, "PCIDEVICE_INTEL_COM_DPDK_INFO=" + info},
		devicemgr.VFIOContainerNode, "/dev/vfio/45")
	withMounts(t, c1, rootfs,
		specs.Mount{Destination: "/usr", Type: "bind", Source: "/usr", Options: []string{"rbind", "ro"}},
		specs.Mount{Destination: "/dev/hugepages", Type: "hugetlbfs", Source: "nodev", Options: []string{"pagesize=2M"}},
		specs.Mount{Destination: "/var/run", Type: "tmpfs", Source: "tmpfs"},
		// EAL counts the CPUs and scans the PCI bus in the guest's sysfs.
		specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}})

	p := createWith(t, sandbox.Config{ID: "dpdk", Config: cfg, Host: host, SysfsRoot: root, StandIns: standIns}, c1)
	start := time.Now()
	out := keepRunningUntil(t, p, c1, "Press enter to exit")
	t.Logf("container c1 (testpmd up %s after start):\n%s", time.Since(start).Round(time.Millisecond), out)
	vars := envLines(out)
	addrs := strings.Split(vars["DPDK"], ",")
	if len(addrs) != 2 || !guestBDF.MatchString(addrs[0]) || !guestBDF.MatchString(addrs[1]) {
		t.Fatalf("DPDK = %q, want two guest addresses", vars["DPDK"])
	}
	groups := vfioGroups(out)
	if len(groups) != 2 {
		t.Fatalf("the container's /dev/vfio: %v, want vfio and two groups", groups)
	}
	var guestInfo devicemgr.DeviceInfo
	if err := json.Unmarshal([]byte(vars["INFO"]), &guestInfo); err != nil {
		t.Fatalf("INFO = %s: %v", vars["INFO"], err)
	}
	vf := guestInfo[addrs[0]]["vfio"]
	if vf == nil || vf["mount"] != devicemgr.VFIOContainerNode || !slices.Contains(groups, strings.TrimPrefix(vf["dev-mount"], "/dev/vfio/")) {
		t.Errorf("INFO = %s, want %s's guest address with a guest group node of the container's (%v)", vars["INFO"], vfDPDKA, groups)
	}
	for _, want := range []string{"HugePages_Total:      32", "Probe PCI driver: net_e1000_em", "io packet forwarding"} {
		if !strings.Contains(out, want) {
			t.Errorf("container output lacks %q", want)
		}
	}
	if o, err := pingFrom(nsA, "10.66.0.2"); err != nil {
		t.Fatalf("netns A cannot ping netns B through testpmd in the guest: %v\n%s", err, o)
	}
	guestPPS, sent := sriovtest.Forwarded(t, nsA, "kdpa", nsB, "kdpb", 3*time.Second)
	stopAndCheck(t, p)

	hA, hB := netnstest.NewNetns(t, "hpa"), netnstest.NewNetns(t, "hpb")
	ta, tb := sriovtest.HostTestpmd(t, netnstest.NewNetns(t, "hpmd"), hA, "10.67.0.1/24", hB, "10.67.0.2/24")
	if o, err := pingFrom(hA, "10.67.0.2"); err != nil {
		t.Fatalf("the host testpmd does not forward: %v\n%s", err, o)
	}
	hostPPS, hostSent := sriovtest.Forwarded(t, hA, ta, hB, tb, 3*time.Second)
	if guestPPS == 0 {
		t.Errorf("no frame crossed testpmd in the guest")
	}
	return forwarding{guestPPS: guestPPS, hostPPS: hostPPS, guestSent: sent, hostSent: hostSent}
}

// withMounts adds mounts to a converted container (the spec test helpers
// build one mount list).
func withMounts(t testing.TB, c *spec.Container, rootfs string, ms ...specs.Mount) {
	t.Helper()
	s := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: rootfs}, Process: &specs.Process{Args: []string{"true"}, Cwd: "/"},
		Mounts: ms, Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
			{Type: specs.IPCNamespace}, {Type: specs.NetworkNamespace}}}}
	extra, err := spec.Convert(s, spec.Input{ContainerID: c.ID, Bundle: filepath.Dir(rootfs)})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	c.Mounts = append(c.Mounts, extra.Mounts...)
}

// vfioGroups reads the group nodes of the container's "VFIO ..." line.
func vfioGroups(out string) []string {
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "VFIO "); ok {
			var gs []string
			for _, f := range strings.Fields(rest) {
				if f != "vfio" {
					gs = append(gs, f)
				}
			}
			if strings.Contains(rest, "vfio") {
				return gs
			}
		}
	}
	return nil
}
