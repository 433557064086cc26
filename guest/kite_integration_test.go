package guest

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/guest/kernel"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// What a Kite guest's kernel must offer without loading anything, as the
// running guest reports it (the test agent reads /proc/filesystems and the
// drivers of each bus).
var (
	kiteFilesystems = []string{"ext4", "9p", "virtiofs", "fuse", "overlay", "tmpfs", "hugetlbfs", "cgroup2",
		"devpts", "devtmpfs", "proc", "sysfs", "mqueue", "bpf"}
	kitePCIDrivers = []string{"virtio-pci", "pcieport", "vfio-pci", "igbvf", "ixgbevf", "iavf", "e1000e", "igb", "nvme"}
	kiteVirtio     = []string{"virtio_blk", "virtio_net", "virtio_console", "virtio_balloon", "virtio_rng",
		"9pnet_virtio", "virtiofs", "vmw_vsock_virtio_transport"}
	kiteND = []string{"nd_pmem"}
)

// TestIntegrationKiteKernel builds the Kite kernel from Debian's
// linux-source (once: the cache keeps it, so under `make test` it is the
// one `make guest` built) into an image that also asks for vrf, a module
// of the Kite kernel, and boots it: the guest loads vrf only, and has every
// device driver and file system Kite uses.
func TestIntegrationKiteKernel(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "apt-get", "apt")
	for tool, pkg := range map[string]string{"make": "make", "gcc": "gcc", "flex": "flex", "bison": "bison", "bc": "bc"} {
		testutil.RequireBinary(t, tool, pkg)
	}
	qemu := testutil.RequireQEMU(t)
	busybox := testutil.RequireBinary(t, DefaultBusybox, "busybox-static")
	agent := buildTestAgent(t)
	ctx := context.Background()
	logf := ProgressFunc(func(e Event) { t.Logf("  %-9s %s", e.Step, e.Message) })
	opts := BuildOptions{OutDir: t.TempDir(), CacheDir: testCacheDir(), AgentPath: agent, BusyboxPath: busybox,
		Kernel: KernelKite, ExtraModules: []string{"vrf"}, Progress: logf}

	start := time.Now()
	m, err := Build(ctx, opts)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	t.Logf("build: %v (kernel %s from %s %s, key %.16s; %d modules %v; vmlinux %s, initramfs %s)",
		time.Since(start).Round(time.Millisecond), m.Kernel.Release, m.Kernel.Package, m.Kernel.Version, m.Kernel.BuildKey,
		len(m.Modules), m.ModuleNames(), mib(m.Kernel.VmlinuxSize), mib(m.Initramfs.Size))
	if m.Kernel.From() != KernelKite || m.Kernel.BuildKey == "" {
		t.Fatalf("kernel record %+v, want a Kite kernel", m.Kernel)
	}
	if m.Initramfs.Size > maxInitramfs {
		t.Errorf("initramfs is %s, over the %s target", mib(m.Initramfs.Size), mib(maxInitramfs))
	}
	// Every default module is built in; only vrf loads.
	for _, name := range opts.forKernel(DefaultModules()) {
		if !slices.Contains(m.Builtin, name) {
			t.Errorf("default module %s is not built into the Kite kernel (built in: %v)", name, m.Builtin)
		}
	}
	if diff := cmp.Diff([]string{"vrf"}, m.ModuleNames()); diff != "" {
		t.Errorf("modules to load (-want +got):\n%s", diff)
	}
	checkKiteConfig(t, opts.CacheDir, m)

	var ev events
	opts.Progress = ev.progress()
	start = time.Now()
	if _, err := Build(ctx, opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("cached build: %v", time.Since(start).Round(time.Millisecond))
	if !ev.has(StepCached) || ev.has(StepKernel) || ev.has(StepDownload) {
		t.Errorf("unchanged rebuild did work: %+v", ev)
	}

	for _, accel := range testAccels() {
		r := bootAndCheck(t, qemu, accel, opts.OutDir, m)
		for key, want := range map[string][]string{"fs": kiteFilesystems, "pci": kitePCIDrivers, "virtio": kiteVirtio, "nd": kiteND} {
			if miss := r.missing(key, want...); len(miss) > 0 {
				t.Errorf("%s: the Kite guest lacks %v (it has %s)", key, miss, r.lists[key])
			}
		}
	}
}

// checkKiteConfig reads the built kernel's .config from the cache: every
// value kite.config asks for is there (Build checked it too), and the
// symbols behind Kite's default modules are built in.
func checkKiteConfig(t *testing.T, cacheDir string, m *Manifest) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cacheDir, kiteTreeName(m.Kernel.BuildKey), kernel.ConfigFile))
	if err != nil {
		t.Fatalf("reading the Kite kernel's config: %v", err)
	}
	if bad := kernel.Merge(kernel.KiteFragment()).Check(data); len(bad) > 0 {
		t.Errorf("the built config lost values of kite.config: %v", bad)
	}
	config := kernel.ParseDotConfig(data)
	for name, sym := range moduleSymbols {
		if _, omitted := KiteOmits[name]; omitted {
			continue
		}
		if v := config["CONFIG_"+sym]; v != "y" {
			t.Errorf("%s: CONFIG_%s=%s in the Kite kernel, want y", name, sym, v)
		}
	}
	for _, sym := range []string{"CONFIG_CRYPTO_MANAGER_DISABLE_TESTS", "CONFIG_PVH", "CONFIG_IKCONFIG_PROC"} {
		if config[sym] != "y" {
			t.Errorf("%s=%s, want y", sym, config[sym])
		}
	}
}
