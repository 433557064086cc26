package vm_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
	"github.com/kite-vm/kite/vm/attach"
)

// goldenCases are the plans pinned in testdata/<name>.golden.
func goldenCases() map[string]struct {
	cfg    func(*configs.Config)
	in     func(*vm.Input)
	shares []share
} {
	rootfs := share{tag: "rootfs", host: "/var/lib/containers/sb1/rootfs"}
	data := share{tag: "data", host: "/srv/data", ro: true}
	kvmHost := func(in *vm.Input) { in.Host.Accel = qemu.AccelKVM }
	return map[string]struct {
		cfg    func(*configs.Config)
		in     func(*vm.Input)
		shares []share
	}{
		"defaults": {nil, nil, []share{rootfs}},
		"9p": {func(c *configs.Config) {
			c.SharedFS.Driver = configs.FSVirtio9P
			c.SharedFS.MsizeKiB = 256
			c.SharedFS.NinePCache = configs.NinePCacheLoose
			c.SharedFS.SecurityModel = configs.SecurityMappedXattr
		}, nil, []share{rootfs, data}},
		"virtiofs-two": {func(c *configs.Config) {
			c.SharedFS.Cache = configs.FSCacheNever
			c.SharedFS.Sandbox = configs.FSSandboxChroot
			c.SharedFS.Xattr = true
			c.SharedFS.ThreadPoolSize = 4
			c.SharedFS.ExtraArgs = []string{"-o", "posix_lock", "--rlimit-nofile=65536"}
		}, nil, []share{rootfs, data}},
		"microvm": {func(c *configs.Config) {
			c.Hypervisor.Machine = configs.MachineMicroVM
			c.Hotplug.Method = configs.HotplugNative
			c.Hotplug.SpareRootPorts = 1
		}, nil, []share{rootfs}},
		"kvm": {func(c *configs.Config) {
			c.Hypervisor.CPUModel = "host"
			c.Hypervisor.VCPUs = 2
			c.Hotplug.Method = configs.HotplugNative
			c.Hypervisor.KernelParams = "  loglevel=7 quiet=0 "
		}, kvmHost, []share{rootfs}},
		"tcg-on-kvm-host": {func(c *configs.Config) {
			c.Hypervisor.Accel = configs.AccelTCG
			c.Hypervisor.TCGTBSizeMiB = 0
			c.Hypervisor.ConsoleLog = false
			c.Hypervisor.MemorySlots = 0
			c.Agent.LogLevel = configs.LogDebug
		}, kvmHost, nil},
		"vsock": {nil, func(in *vm.Input) { in.Host.VhostVsock, in.GuestCID = true, 42 }, nil},
		"iommu-kvm": {func(c *configs.Config) {
			c.Hypervisor.EnableIOMMU = true
			c.Devices.VFIOMode = configs.VFIOUserspace
		}, func(in *vm.Input) {
			in.Host.Accel = qemu.AccelKVM
			in.RootPorts = qemu.RootPortPool("rp", 2)
		}, []share{rootfs}},
	}
}

// TestPlanMachineGolden was runtime's TestPlanVMGolden. The plan no longer
// holds the shares' devices: render adds each attachment's preview, in
// plan order, where Boot adds the attached devices, so the goldens still
// show the share devices and virtiofsd's arguments.
func TestPlanMachineGolden(t *testing.T) {
	for name, tc := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			cfg := configs.Default()
			if tc.cfg != nil {
				tc.cfg(cfg)
			}
			in := input()
			if tc.in != nil {
				tc.in(&in)
			}
			p, err := vm.PlanMachine(cfg, withDevices(t, cfg, in, tc.shares...))
			if err != nil {
				t.Fatalf("PlanMachine: %v", err)
			}
			checkGolden(t, name, render(t, p))
		})
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("plan differs from %s (-want +got):\n%s", path, diff)
	}
}

// render is the golden form of a plan: every decision, one per line, and the
// QEMU and virtiofsd command lines one argument per line. The QEMU command
// line is the plan's with every attachment's device previewed.
func render(t *testing.T, p vm.Plan) string {
	t.Helper()
	qc := p.QEMU
	qc.Devices = slices.Clone(qc.Devices)
	for _, a := range p.Attachments {
		pv, ok := a.(attach.Previewer)
		if !ok {
			t.Fatalf("attachment %q (%T) has no preview to render", a.Name(), a)
		}
		qc.Devices = append(qc.Devices, pv.Preview())
	}
	cl, err := qc.Build()
	if err != nil {
		t.Fatalf("building the QEMU command line: %v", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# sandbox %s in %s\n", p.ID, p.Dir)
	fmt.Fprintf(&b, "# agent %s socket=%q cid=%d port=%d dial=%s call=%s\n", p.Agent.Transport,
		p.Agent.SocketPath, p.Agent.GuestCID, p.Agent.VsockPort, p.Agent.DialTimeout, p.Agent.CallTimeout)
	fmt.Fprintf(&b, "# shutdown %s, qemu log %s\n", p.ShutdownTimeout, p.QEMULog)
	shares := sharesOf(p)
	for _, s := range shares {
		st := s.Storage("", "")
		fmt.Fprintf(&b, "# mount %s %s options=%q ro=%t\n", st.GetSource(), st.GetDriver(), st.GetOptions(), st.GetReadonly())
	}
	for _, s := range shares {
		v := s.Virtiofsd()
		if v == nil {
			continue
		}
		fmt.Fprintf(&b, "# virtiofsd %s tag=%s host=%s bind=%q log=%s lock=%s\n", v.ID, v.Tag, v.HostPath, v.ReadOnlyBind, v.LogPath, v.LockFile)
		fmt.Fprintf(&b, "%s\n  %s\n", v.Binary, strings.Join(v.Args, "\n  "))
	}
	fmt.Fprintf(&b, "%s\n  %s\n", cl.Path, strings.Join(cl.Args, "\n  "))
	return b.String()
}

// TestPlanMachineDecisions was runtime's TestPlanVMDecisions.
func TestPlanMachineDecisions(t *testing.T) {
	cfg := configs.Default()
	in := withDevices(t, cfg, input(), share{tag: "rootfs", host: "/srv/r"})
	p, err := vm.PlanMachine(cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	want := "console=ttyS0 panic=1 quiet cryptomgr.notests swiotlb=noforce no_timer_check kite.transport=virtio-serial kite.port=agent0 kite.log=info"
	if got := p.QEMU.Kernel.Append; got != want {
		t.Errorf("kernel command line = %q, want %q", got, want)
	}
	// A host that can pass functions through keeps the kernel's bounce
	// buffer: a function's DMA mask is the hardware's.
	vfioIn := withDevices(t, cfg, input(), share{tag: "rootfs", host: "/srv/r"})
	vfioIn.Host.VFIO = true
	if pv, err := vm.PlanMachine(cfg, vfioIn); err != nil || strings.Contains(pv.QEMU.Kernel.Append, "swiotlb") {
		t.Errorf("with VFIO on the host: %v, kernel command line %q, want no swiotlb word", err, pv.QEMU.Kernel.Append)
	}
	if !p.QEMU.Memory.Shared {
		t.Error("virtio-fs plan without shared memory")
	}
	// The runtime made hotplug.spare_root_ports ports itself; the plan now
	// takes the guest PCI topology's ports (devicemgr), unchanged.
	if got := len(p.QEMU.RootPorts); got != cfg.Hotplug.SpareRootPorts {
		t.Errorf("%d root ports, want %d", got, cfg.Hotplug.SpareRootPorts)
	}
	if diff := cmp.Diff(in.RootPorts, p.QEMU.RootPorts); diff != "" {
		t.Errorf("root ports are not the topology's (-want +got):\n%s", diff)
	}
	// Boot adds the attachments' devices once their host side is done; the
	// plan has the agent's channel and, with free page reporting (the
	// default), the balloon on the root bus.
	wantDevices := 1
	if cfg.Hypervisor.FreePageReporting {
		wantDevices++
	}
	if len(p.QEMU.Devices) != wantDevices {
		t.Errorf("plan devices %v, want the agent's and the balloon (free_page_reporting=%t)", p.QEMU.Devices, cfg.Hypervisor.FreePageReporting)
	}
	if p.Agent.DialTimeout != 30*time.Second || p.ShutdownTimeout != 5*time.Second {
		t.Errorf("timeouts = %s/%s, want the defaults 30s/5s", p.Agent.DialTimeout, p.ShutdownTimeout)
	}

	cfg.SharedFS.Driver = configs.FSVirtio9P
	cfg.Hypervisor.MemoryMiB = cfg.Hypervisor.MaxMemoryMiB
	p, err = vm.PlanMachine(cfg, withDevices(t, cfg, input(), share{tag: "rootfs", host: "/srv/r"}))
	if err != nil {
		t.Fatal(err)
	}
	virtiofsd := 0
	for _, s := range sharesOf(p) {
		if s.Virtiofsd() != nil {
			virtiofsd++
		}
	}
	if p.QEMU.Memory.Shared || virtiofsd != 0 {
		t.Errorf("9p plan has shared memory %t and %d virtiofsd", p.QEMU.Memory.Shared, virtiofsd)
	}
	if p.QEMU.Memory.Slots != 0 {
		t.Errorf("memory at max_memory_mib kept %d slots with no room for them", p.QEMU.Memory.Slots)
	}
}

// TestPlanMachineHugepages was runtime's TestPlanVMHugepages: the knobs
// reach the plan; the whole plan with huge pages bound to a node and
// pinned vCPUs is pinned in testdata/hugepages-pinned.golden.
func TestPlanMachineHugepages(t *testing.T) {
	cfg := configs.Default()
	cfg.Hypervisor.Hugepages, cfg.Hypervisor.VCPUPinning, cfg.Hypervisor.VCPUs = true, true, 2
	cfg.SharedFS.Driver = configs.FSVirtio9P // huge pages alone must make the RAM shared
	in := withDevices(t, cfg, input(), share{tag: "rootfs", host: "/srv/r"})
	in.Host.Hugepages = vm.HostHugepages{Free: 1024, NodeFree: map[int]int{0: 512, 1: 512}}
	node := 1
	in.NUMANode, in.CPUSet = &node, []int{6, 7}
	p, err := vm.PlanMachine(cfg, in)
	if err != nil {
		t.Fatalf("PlanMachine: %v", err)
	}
	want := qemu.Memory{SizeMiB: 512, Shared: true, Slots: 4, MaxMiB: 8192,
		Hugepages: &qemu.Hugepages{PageMiB: 2, HostNodes: []int{1}}}
	if diff := cmp.Diff(want, p.QEMU.Memory); diff != "" {
		t.Errorf("memory (-want +got):\n%s", diff)
	}
	got := render(t, p) + fmt.Sprintf("# pinning vcpus=%v others=%v note=%q\n", p.Pinning.VCPUs, p.Pinning.Others, p.Pinning.Note)
	checkGolden(t, "hugepages-pinned", got)

	// The same pod on a host that cannot back it is refused at planning.
	in.Host.Hugepages.NodeFree[1] = 10
	if _, err := vm.PlanMachine(cfg, in); !errors.Is(err, vm.ErrHost) || !strings.Contains(err.Error(), `planning sandbox "sb1"`) {
		t.Errorf("PlanMachine with 10 pages on the node = %v, want ErrHost naming the sandbox", err)
	}
}
