package runtime

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func tcgHost() Host { return Host{Accel: qemu.AccelTCG, TSCKHz: 2600002} }

func input(shares ...Share) VMInput {
	return VMInput{ID: "sb1", Dir: "/run/kite/sb1", Host: tcgHost(), Shares: shares}
}

// goldenCases are the plans pinned in testdata/<name>.golden.
func goldenCases() map[string]struct {
	cfg func(*configs.Config)
	in  VMInput
} {
	rootfs := Share{Tag: "rootfs", HostPath: "/var/lib/containers/sb1/rootfs"}
	data := Share{Tag: "data", HostPath: "/srv/data", ReadOnly: true}
	return map[string]struct {
		cfg func(*configs.Config)
		in  VMInput
	}{
		"defaults": {func(*configs.Config) {}, input(rootfs)},
		"9p": {func(c *configs.Config) {
			c.SharedFS.Driver = configs.FSVirtio9P
			c.SharedFS.MsizeKiB = 256
			c.SharedFS.NinePCache = configs.NinePCacheLoose
			c.SharedFS.SecurityModel = configs.SecurityMappedXattr
		}, input(rootfs, data)},
		"virtiofs-two": {func(c *configs.Config) {
			c.SharedFS.Cache = configs.FSCacheNever
			c.SharedFS.Sandbox = configs.FSSandboxChroot
			c.SharedFS.Xattr = true
			c.SharedFS.ThreadPoolSize = 4
			c.SharedFS.ExtraArgs = []string{"-o", "posix_lock", "--rlimit-nofile=65536"}
		}, input(rootfs, data)},
		"microvm": {func(c *configs.Config) {
			c.Hypervisor.Machine = configs.MachineMicroVM
			c.Hotplug.Method = configs.HotplugNative
			c.Hotplug.SpareRootPorts = 1
		}, input(rootfs)},
		"kvm": {func(c *configs.Config) {
			c.Hypervisor.CPUModel = "host"
			c.Hypervisor.VCPUs = 2
			c.Hotplug.Method = configs.HotplugNative
			c.Hypervisor.KernelParams = "  loglevel=7 quiet=0 "
		}, func() VMInput { in := input(rootfs); in.Host.Accel = qemu.AccelKVM; return in }()},
		"tcg-on-kvm-host": {func(c *configs.Config) {
			c.Hypervisor.Accel = configs.AccelTCG
			c.Hypervisor.TCGTBSizeMiB = 0
			c.Hypervisor.ConsoleLog = false
			c.Hypervisor.MemorySlots = 0
			c.Agent.LogLevel = configs.LogDebug
		}, func() VMInput { in := input(); in.Host.Accel = qemu.AccelKVM; return in }()},
		"vsock": {func(*configs.Config) {}, func() VMInput {
			in := input()
			in.Host.VhostVsock, in.GuestCID = true, 42
			return in
		}()},
	}
}

func TestPlanVMGolden(t *testing.T) {
	for name, tc := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			cfg := configs.Default()
			tc.cfg(cfg)
			p, err := PlanVM(cfg, tc.in)
			if err != nil {
				t.Fatalf("PlanVM: %v", err)
			}
			got := render(t, p)
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
		})
	}
}

// render is the golden form of a plan: every decision, one per line, and the
// QEMU and virtiofsd command lines one argument per line.
func render(t *testing.T, p VMPlan) string {
	t.Helper()
	cl, err := p.QEMU.Build()
	if err != nil {
		t.Fatalf("building the QEMU command line: %v", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# sandbox %s in %s\n", p.ID, p.Dir)
	fmt.Fprintf(&b, "# agent %s socket=%q cid=%d port=%d dial=%s call=%s\n", p.Agent.Transport,
		p.Agent.SocketPath, p.Agent.GuestCID, p.Agent.VsockPort, p.Agent.DialTimeout, p.Agent.CallTimeout)
	fmt.Fprintf(&b, "# shutdown %s, qemu log %s\n", p.ShutdownTimeout, p.QEMULog)
	for _, m := range p.Mounts {
		fmt.Fprintf(&b, "# mount %s %s options=%q ro=%t\n", m.Tag, m.Driver, m.Options, m.ReadOnly)
	}
	for _, v := range p.Virtiofsd {
		fmt.Fprintf(&b, "# virtiofsd %s tag=%s host=%s bind=%q log=%s lock=%s\n", v.ID, v.Tag, v.HostPath, v.ReadOnlyBind, v.LogPath, v.LockFile)
		fmt.Fprintf(&b, "%s\n  %s\n", v.Binary, strings.Join(v.Args, "\n  "))
	}
	fmt.Fprintf(&b, "%s\n  %s\n", cl.Path, strings.Join(cl.Args, "\n  "))
	return b.String()
}

func TestPlanVMDecisions(t *testing.T) {
	cfg := configs.Default()
	p, err := PlanVM(cfg, input(Share{Tag: "rootfs", HostPath: "/srv/r"}))
	if err != nil {
		t.Fatal(err)
	}
	want := "console=ttyS0 panic=1 quiet no_timer_check kite.transport=virtio-serial kite.port=agent0 kite.log=info"
	if got := p.QEMU.Kernel.Append; got != want {
		t.Errorf("kernel command line = %q, want %q", got, want)
	}
	if !p.QEMU.Memory.Shared {
		t.Error("virtio-fs plan without shared memory")
	}
	if got := len(p.QEMU.RootPorts); got != cfg.Hotplug.SpareRootPorts {
		t.Errorf("%d root ports, want %d", got, cfg.Hotplug.SpareRootPorts)
	}
	if p.Agent.DialTimeout != 30*time.Second || p.ShutdownTimeout != 5*time.Second {
		t.Errorf("timeouts = %s/%s, want the defaults 30s/5s", p.Agent.DialTimeout, p.ShutdownTimeout)
	}

	cfg.SharedFS.Driver = configs.FSVirtio9P
	cfg.Hypervisor.MemoryMiB = cfg.Hypervisor.MaxMemoryMiB
	p, err = PlanVM(cfg, input(Share{Tag: "rootfs", HostPath: "/srv/r"}))
	if err != nil {
		t.Fatal(err)
	}
	if p.QEMU.Memory.Shared || len(p.Virtiofsd) != 0 {
		t.Errorf("9p plan has shared memory %t and %d virtiofsd", p.QEMU.Memory.Shared, len(p.Virtiofsd))
	}
	if p.QEMU.Memory.Slots != 0 {
		t.Errorf("memory at max_memory_mib kept %d slots with no room for them", p.QEMU.Memory.Slots)
	}
}

func TestShareMountStorage(t *testing.T) {
	m := ShareMount{Tag: "data", Options: []string{"msize=512000"}, ReadOnly: true}
	s := m.Storage("st1", "/run/kite/storage/data")
	if s.GetId() != "st1" || s.GetSource() != "data" || !s.GetReadonly() || s.GetMountPoint() != "/run/kite/storage/data" {
		t.Errorf("Storage() = %v", s)
	}
	s.Options[0] = "changed"
	if m.Options[0] != "msize=512000" {
		t.Error("Storage() shares its options slice with the plan")
	}
}

// Passed-through functions get a root port each, before the spare ones,
// and a vfio-pci device without option ROM on it.
func TestPlanVMPCIDevices(t *testing.T) {
	cfg := configs.Default()
	in := input()
	in.PCIDevices = []string{"0000:3b:02.1", "0000:3b:02.2"}
	p, err := PlanVM(cfg, in)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := p.QEMU.Build()
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(cl.Args, " ")
	for _, want := range []string{
		"-device pcie-root-port,id=rpd0,bus=pcie.0,chassis=64,slot=64",
		"-device pcie-root-port,id=rpd1,bus=pcie.0,chassis=65,slot=65",
		"-device vfio-pci,id=pci0,bus=rpd0,host=0000:3b:02.1,romfile=",
		"-device vfio-pci,id=pci1,bus=rpd1,host=0000:3b:02.2,romfile=",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("command line lacks %q:\n%s", want, args)
		}
	}
	if got := len(p.QEMU.RootPorts); got != 2+cfg.Hotplug.SpareRootPorts {
		t.Errorf("%d root ports, want 2 for the devices + %d spares", got, cfg.Hotplug.SpareRootPorts)
	}
	in.PCIDevices = []string{"0000:3b:02.1", "0000:3b:02.1"}
	if _, err := PlanVM(cfg, in); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "0000:3b:02.1 is given twice") {
		t.Errorf("a function twice = %v", err)
	}
	in.PCIDevices = []string{"3b:02.1"}
	if _, err := PlanVM(cfg, in); err == nil || !strings.Contains(err.Error(), "3b:02.1") {
		t.Errorf("a short BDF = %v, want an error naming it", err)
	}
}
