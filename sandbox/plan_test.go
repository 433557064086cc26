package sandbox

import (
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/fsshare/nvdimm"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vfio"
	"github.com/kite-vm/kite/vm"
)

func planConfig() Config {
	return Config{ID: "sb1", Dir: "/run/kite/sb1", Config: configs.Default()}
}

func tcgFacts() facts {
	return facts{host: vm.Host{Accel: qemu.AccelTCG, TSCKHz: 2600002}}
}

// Passed-through functions get a root port each, before the spare ones,
// at fixed slots, and a vfio-pci device without option ROM on it; the
// guest finds each at its port's slot.
func TestPlanSandboxPCIDevices(t *testing.T) {
	cfg := planConfig()
	f := tcgFacts()
	f.functions = []devicemgr.Assignment{{BDF: "0000:3b:02.1", NUMANode: -1}, {BDF: "0000:3b:02.2", NUMANode: -1}}
	l, err := planSandbox(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := l.vm.Preview()
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(cl.Args, " ")
	for _, want := range []string{
		"-device pcie-root-port,id=rp0,bus=pcie.0,addr=0x8,chassis=1,slot=1",
		"-device pcie-root-port,id=rp1,bus=pcie.0,addr=0x9,chassis=2,slot=2",
		"-device vfio-pci,id=pci0,bus=rp0,host=0000:3b:02.1,romfile=",
		"-device vfio-pci,id=pci1,bus=rp1,host=0000:3b:02.2,romfile=",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("command line lacks %q:\n%s", want, args)
		}
	}
	if got := len(l.vm.QEMU.RootPorts); got != 2+cfg.Config.Hotplug.SpareRootPorts {
		t.Errorf("%d root ports, want 2 for the devices + %d spares", got, cfg.Config.Hotplug.SpareRootPorts)
	}
	if p := l.functions["0000:3b:02.2"].Port.GuestPath(); p != "09/00" {
		t.Errorf("guest PCI path of the second function = %q, want 09/00", p)
	}
	f.functions = append(f.functions, f.functions[0])
	if _, err := planSandbox(cfg, f); Classify(err) != ErrInvalidArgument || !strings.Contains(err.Error(), "0000:3b:02.1") {
		t.Errorf("a function given twice = %v, want an invalid argument naming it", err)
	}
}

// A stand-in (tests only) takes the very place of the function it stands
// for: its root port, guest path and agent request; only the QEMU device
// differs (an emulated NVMe instead of vfio-pci). The guest IOMMU comes
// before the root ports when enable_iommu asks for one.
func TestPlanSandboxStandIn(t *testing.T) {
	cfg := planConfig()
	cfg.Config.Hypervisor.EnableIOMMU = true
	cfg.Config.Devices.VFIOMode = configs.VFIOUserspace
	cfg.StandIns = map[string]*devicemgr.StandIn{"0000:3b:02.2": {NVMeImage: "/srv/ns.img"}}
	f := tcgFacts()
	f.functions = []devicemgr.Assignment{{BDF: "0000:3b:02.1", NUMANode: -1}, {BDF: "0000:3b:02.2", NUMANode: -1}}
	l, err := planSandbox(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := l.vm.Preview()
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(cl.Args, " ")
	for _, want := range []string{
		"-device intel-iommu,id=iommu,intremap=on,caching-mode=on",
		"-device vfio-pci,id=pci0,bus=rp0,host=0000:3b:02.1,romfile=",
		"-device nvme,id=pci1,bus=rp1,drive=pci1,serial=kite-pci1",
		"intel_iommu=on iommu=pt",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("command line lacks %q:\n%s", want, args)
		}
	}
	if strings.Index(args, "intel-iommu") > strings.Index(args, "pcie-root-port") {
		t.Errorf("the IOMMU comes after the root ports:\n%s", args)
	}
	real, standIn := l.functions["0000:3b:02.1"], l.functions["0000:3b:02.2"]
	if standIn.StandIn == nil || real.StandIn != nil {
		t.Fatalf("stand-ins: %+v and %+v, want only 0000:3b:02.2's", real.StandIn, standIn.StandIn)
	}
	if g := standIn.Guest().Device; g.GetGuestPciPath() != "09/00" || g.GetMode().String() != "DEVICE_MODE_VFIO" ||
		g.GetTimeout().AsDuration() != cfg.Config.Hotplug.DeviceTimeout.Duration() {
		t.Errorf("the stand-in's agent request %v, want the function's: 09/00, vfio mode, the hot-plug timeout", g)
	}
}

// The functions' NUMA node binds hugepage-backed RAM only when they all
// agree.
func TestNUMANode(t *testing.T) {
	a := func(nodes ...int) []devicemgr.Assignment {
		var out []devicemgr.Assignment
		for _, n := range nodes {
			out = append(out, devicemgr.Assignment{NUMANode: n})
		}
		return out
	}
	for _, tc := range []struct {
		in   []devicemgr.Assignment
		want int // -1: nil
	}{
		{nil, -1}, {a(-1), -1}, {a(1), 1}, {a(1, 1), 1}, {a(0, 1), -1},
	} {
		got := numaNode(tc.in)
		if (got == nil) != (tc.want < 0) || (got != nil && *got != tc.want) {
			t.Errorf("numaNode(%v) = %v, want %d", tc.in, got, tc.want)
		}
	}
}

// DAX images follow the guest root image's NVDIMM in pmem numbering and
// need memory slots and maxmem room.
func TestPlanSandboxDAX(t *testing.T) {
	cfg := planConfig()
	f := tcgFacts()
	f.dax = append(f.dax, daxImage("/img/a.img", 64<<20), daxImage("/img/b.img", 32<<20))
	l, err := planSandbox(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.dax) != 2 || l.dax[0].Storage().GetSource() != "pmem0" || l.dax[1].Storage().GetSource() != "pmem1" {
		t.Errorf("DAX storages %v, %v: want pmem0, pmem1", l.dax[0].Storage(), l.dax[1].Storage())
	}
	cfg.Config.Hypervisor.MemorySlots = 1
	if _, err := planSandbox(cfg, f); Classify(err) != ErrInvalidArgument || !strings.Contains(err.Error(), "memory_slots") {
		t.Errorf("two DAX images with one slot = %v, want an invalid argument naming memory_slots", err)
	}
}

func daxImage(path string, size int64) nvdimm.Image { return nvdimm.Image{Path: path, Size: size} }

// Over vsock, the agent needs a guest CID: the engine gives one from the
// sandbox id, valid and stable.
func TestPlanSandboxGuestCID(t *testing.T) {
	cfg := planConfig()
	f := tcgFacts()
	f.host.VhostVsock = true
	l, err := planSandbox(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	cid := l.vm.Agent.GuestCID
	if cid < 3 || cid == 1<<32-1 || cid != guestCID("sb1") || guestCID("sb2") == cid {
		t.Errorf("guest CID %d for sb1 (sb2: %d): want a stable valid CID per id", cid, guestCID("sb2"))
	}
}

// The devices.vf rules are matched at plan time: a function the device
// plugin assigned gets the rule of its resource and PF; a VF netdev of the
// pod gets the rule of its PF on its physical endpoint, which sets it with
// the interface's MAC, and so does one the device plugin assigned too (its
// function then sets nothing itself); a function that is no VF, none.
func TestPlanSandboxVFRules(t *testing.T) {
	cfg := planConfig()
	n := func(v int) *int { return &v }
	cfg.Config.Devices.VF = []configs.VFRule{
		{PF: "enp59s0f0", Resource: "intel.com/dpdk", VLAN: n(10)},
		{PF: "enp59s0f0", VLAN: n(20)},
	}
	f := tcgFacts()
	f.functions = []devicemgr.Assignment{
		{BDF: "0000:3b:02.1", Source: "PCIDEVICE_INTEL_COM_DPDK", NUMANode: -1},
		{BDF: "0000:3b:02.2", Source: "PCIDEVICE_INTEL_COM_NET", NUMANode: -1},
		{BDF: "0000:3b:00.1", Source: "PCIDEVICE_INTEL_COM_DPDK", NUMANode: -1}, // a PF
	}
	pf := vfio.VF{PF: "0000:3b:00.0", PFNetdev: "enp59s0f0"}
	f.vfs = map[string]vfio.VF{"0000:3b:02.1": pf, "0000:3b:02.2": pf, "0000:3b:02.3": pf}
	mac, mac2 := net.HardwareAddr{2, 0, 0, 0, 0, 9}, net.HardwareAddr{2, 0, 0, 0, 0, 10}
	f.netns = &netmodels.Netns{Path: "/run/netns/pod", Links: []netmodels.Link{
		{Index: 1, Name: "lo", Kind: netmodels.KindLoopback, Up: true},
		{Index: 2, Name: "net1", Kind: netmodels.KindDevice, MAC: mac, MTU: 1500, Up: true, BusInfo: "0000:3b:02.2"},
		{Index: 3, Name: "net2", Kind: netmodels.KindDevice, MAC: mac2, MTU: 1500, Up: true, BusInfo: "0000:3b:02.3"},
	}}
	f.physical = map[string]*netmodels.PhysicalEndpoint{
		"net1": {NetnsPath: "/run/netns/pod", Name: "net1", MAC: mac, BDF: "0000:3b:02.2"},
		"net2": {NetnsPath: "/run/netns/pod", Name: "net2", MAC: mac2, BDF: "0000:3b:02.3"},
	}
	l, err := planSandbox(cfg, f)
	if err != nil {
		t.Fatal(err)
	}
	vlan := func(id int) vfio.VFSettings { return vfio.VFSettings{VLAN: &vfio.VLAN{ID: id}} }
	for bdf, want := range map[string]struct {
		s    vfio.VFSettings
		rule string
	}{
		"0000:3b:02.1": {vlan(10), "devices.vf[0]"},
		"0000:3b:02.2": {}, // its endpoint sets it
		"0000:3b:00.1": {},
	} {
		fn := l.functions[bdf]
		if !reflect.DeepEqual(fn.VF, want.s) || fn.VFRule != want.rule {
			t.Errorf("function %s: %s (%q), want %s (%q)", bdf, fn.VF, fn.VFRule, want.s, want.rule)
		}
	}
	phys := map[string]*netmodels.Physical{}
	for _, a := range l.vm.Attachments {
		if p, ok := a.(*netmodels.Physical); ok {
			phys[p.Record.Name] = p
		}
	}
	for name, rule := range map[string]string{"net1": "devices.vf[1]", "net2": "devices.vf[1]"} {
		p := phys[name]
		if p == nil {
			t.Fatalf("no physical endpoint for %s", name)
		}
		if !reflect.DeepEqual(p.VF, vlan(20)) || p.VFRule != rule {
			t.Errorf("%s: %s (%q), want %s (%q)", name, p.VF, p.VFRule, vlan(20), rule)
		}
	}
}
