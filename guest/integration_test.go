package guest

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/guest/deb"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// maxInitramfs is the size target for the image.
const maxInitramfs = 4 << 20

// testCacheDir keeps the kernel package across test runs, so a machine
// downloads it once: $KITE_GUEST_CACHE or /var/cache/kite/guest.
func testCacheDir() string {
	if d := os.Getenv("KITE_GUEST_CACHE"); d != "" {
		return d
	}
	return "/var/cache/kite/guest"
}

// buildTestAgent compiles testdata/testagent as a static binary.
func buildTestAgent(t *testing.T) string {
	t.Helper()
	goBin := testutil.RequireBinary(t, "go", "golang-go")
	out := filepath.Join(t.TempDir(), "kite-agent")
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./testdata/testagent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the test agent: %v\n%s", err, b)
	}
	return out
}

// TestIntegrationBuildAndBoot builds and boots the image with Debian's
// kernel, whose drivers are modules the guest loads at boot.
func TestIntegrationBuildAndBoot(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "apt-get", "apt")
	qemu := testutil.RequireQEMU(t)
	busybox := testutil.RequireBinary(t, DefaultBusybox, "busybox-static")
	agent := buildTestAgent(t)
	ctx := context.Background()
	logf := ProgressFunc(func(e Event) { t.Logf("  %-9s %s", e.Step, e.Message) })
	opts := BuildOptions{OutDir: t.TempDir(), CacheDir: testCacheDir(), AgentPath: agent, BusyboxPath: busybox,
		Kernel: KernelDebian, Progress: logf}

	start := time.Now()
	m, err := Build(ctx, opts)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	t.Logf("build: %v (kernel %s %s, %d modules, vmlinux %s, initramfs %d bytes = %s)",
		time.Since(start).Round(time.Millisecond), m.Kernel.Package, m.Kernel.Version, len(m.Modules),
		mib(m.Kernel.VmlinuxSize), m.Initramfs.Size, mib(m.Initramfs.Size))
	if m.Initramfs.Size > maxInitramfs {
		t.Errorf("initramfs is %s, over the %s target", mib(m.Initramfs.Size), mib(maxInitramfs))
	}
	checkAgainstConfig(t, m, opts.CacheDir)

	var ev events
	opts.Progress = ev.progress()
	start = time.Now()
	if _, err := Build(ctx, opts); err != nil {
		t.Fatal(err)
	}
	cachedTook := time.Since(start)
	t.Logf("cached build: %v", cachedTook.Round(time.Millisecond))
	if !ev.has(StepCached) || ev.has(StepDownload) || ev.has(StepExtract) {
		t.Errorf("unchanged rebuild did work: %+v", ev)
	}

	accels := testAccels()
	for _, accel := range accels {
		bootAndCheck(t, qemu, accel, opts.OutDir, m)
	}

	// The busybox baseline, same kernel and modules.
	base := opts
	base.OutDir, base.Init, base.AgentPath, base.Progress = t.TempDir(), InitBusybox, "", logf
	bm, err := Build(ctx, base)
	if err != nil {
		t.Fatalf("baseline Build() error = %v", err)
	}
	res := boot(t, qemu, accels[0], PathsIn(base.OutDir), BaselineMarker, 3*time.Minute)
	t.Logf("baseline boot (%s): %v to %q (initramfs %s)", accels[0], res.elapsed.Round(time.Millisecond), res.marker, mib(bm.Initramfs.Size))
	if want := BaselineMarker + " " + strconv.Itoa(len(bm.Modules)) + " modules"; !strings.Contains(res.marker, want) {
		t.Errorf("baseline console %q, want %q", res.marker, want)
	}
}

func testAccels() []string {
	accels := []string{testutil.Accel()}
	if accels[0] != "tcg" {
		accels = append(accels, "tcg")
	}
	return accels
}

// guestReport is what the test agent printed.
type guestReport struct {
	fields []string          // KITE-TEST-INIT-OK <n> modules <v> virtio-devices <p> proc-modules <c> console-devices ...
	lists  map[string]string // fs=, pci=, virtio=, nd=: comma-separated
}

// has reports whether the comma-separated list key holds every name.
func (r guestReport) missing(key string, names ...string) []string {
	have := strings.Split(r.lists[key], ",")
	var out []string
	for _, n := range names {
		if !slices.Contains(have, n) {
			out = append(out, n)
		}
	}
	return out
}

// bootAndCheck boots the image in dir with the test agent as /init and
// checks that it loaded the manifest's modules and bound the
// virtio-serial-pci device.
func bootAndCheck(t *testing.T, qemu, accel, dir string, m *Manifest) guestReport {
	t.Helper()
	res := boot(t, qemu, accel, PathsIn(dir), "KITE-TEST-INIT-", 3*time.Minute)
	t.Logf("boot (%s): %v to %q", accel, res.elapsed.Round(time.Millisecond), res.marker)
	f := strings.Fields(res.marker[strings.Index(res.marker, "KITE-TEST-INIT-"):])
	if f[0] != "KITE-TEST-INIT-OK" {
		t.Fatalf("init failed under %s: %s\nconsole:\n%s", accel, res.marker, res.console)
	}
	if want := strconv.Itoa(len(m.Modules)); len(f) < 9 || f[1] != want || f[5] != want {
		t.Fatalf("guest loaded %s modules (%s in /proc/modules), want %s", f[1], f[5], want)
	}
	if f[3] != "1" || f[7] != "1" {
		t.Errorf("want the virtio-serial-pci device seen and bound to virtio_console: %s", res.marker)
	}
	r := guestReport{fields: f, lists: map[string]string{}}
	for _, field := range f {
		if k, v, ok := strings.Cut(field, "="); ok {
			r.lists[k] = v
		}
	}
	return r
}

// moduleSymbols maps each default module to its config symbol.
var moduleSymbols = map[string]string{
	"virtio_ring": "VIRTIO", "virtio": "VIRTIO", "virtio_pci_modern_dev": "VIRTIO_PCI_LIB",
	"virtio_pci_legacy_dev": "VIRTIO_PCI_LIB_LEGACY", "virtio_pci": "VIRTIO_PCI", "virtio_console": "VIRTIO_CONSOLE",
	"failover": "FAILOVER", "net_failover": "NET_FAILOVER", "virtio_net": "VIRTIO_NET",
	"virtio_blk": "VIRTIO_BLK", "virtio_balloon": "VIRTIO_BALLOON",
	"fuse": "FUSE_FS", "virtiofs": "VIRTIO_FS", "netfs": "NETFS_SUPPORT", "fscache": "FSCACHE",
	"9pnet": "NET_9P", "9pnet_virtio": "NET_9P_VIRTIO", "9p": "9P_FS",
	"libnvdimm": "LIBNVDIMM", "nd_btt": "ND_BTT", "nd_pmem": "BLK_DEV_PMEM", "nfit": "ACPI_NFIT",
	"crc16": "CRC16", "mbcache": "FS_MBCACHE", "jbd2": "JBD2", "crc32c_generic": "CRYPTO_CRC32C", "ext4": "EXT4_FS",
	"vsock": "VSOCKETS", "vmw_vsock_virtio_transport_common": "VIRTIO_VSOCKETS_COMMON",
	"vmw_vsock_virtio_transport": "VIRTIO_VSOCKETS",
}

// checkAgainstConfig confirms, with the kernel's own config, that every
// default module Build chose to load is =m and every one it skipped as
// built in is =y.
func checkAgainstConfig(t *testing.T, m *Manifest, cacheDir string) {
	t.Helper()
	c := deb.Candidate{Package: m.Kernel.Package, Version: m.Kernel.Version, Architecture: "amd64"}
	config := kernelConfig(t, filepath.Join(cacheDir, c.FileName()))
	loaded := map[string]bool{}
	for _, n := range m.ModuleNames() {
		loaded[n] = true
	}
	for _, name := range DefaultModules() {
		sym := "CONFIG_" + moduleSymbols[name]
		v := config[sym]
		if v != "m" && v != "y" {
			t.Errorf("%s: %s is %q in the kernel config", name, sym, v)
			continue
		}
		if loaded[name] != (v == "m") || slices.Contains(m.Builtin, name) != (v == "y") {
			t.Errorf("%s: %s=%s, but loaded=%v builtin=%v", name, sym, v, loaded[name], slices.Contains(m.Builtin, name))
		}
	}
}

// kernelConfig reads boot/config-* from the kernel package.
func kernelConfig(t *testing.T, debPath string) map[string]string {
	t.Helper()
	d, err := deb.Open(debPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	config := map[string]string{}
	err = d.Walk(context.Background(), func(h *tar.Header, r io.Reader) error {
		if !strings.HasPrefix(h.Name, "boot/config-") {
			return nil
		}
		b, err := io.ReadAll(r)
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
				config[k] = v
			}
		}
		return err
	})
	if err != nil || len(config) == 0 {
		t.Fatalf("reading the kernel config from %s: %v", debPath, err)
	}
	return config
}
