package sriovtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kite-vm/kite/guest"
	"github.com/kite-vm/kite/guest/deb"
	"github.com/kite-vm/kite/guest/initramfs"
	"github.com/kite-vm/kite/internal/flock"
	"github.com/kite-vm/kite/internal/testing/vmtest"
)

// DriverModules are the guest drivers of the functions Kite passes through
// and of the devices that stand in for them: the emulated e1000e and igb
// NICs, igb's VFs (igbvf), NVMe, and vfio-pci with its IOMMU backend for
// devices.vfio_mode "vfio".
func DriverModules() []string {
	return []string{"e1000e", "igb", "igbvf", "nvme", "vfio_pci", "vfio_iommu_type1"}
}

// DriverGuestDirName is where DriverGuest builds, beside the guest image.
const DriverGuestDirName = "guest-drivers"

// DriverGuest returns a guest image directory whose guest has
// DriverModules: the test guest itself when it has them (the Kite kernel
// builds them in; a Debian image built with them loads them), else the
// same kernel package, agent and busybox rebuilt with them as modules into
// a cache beside it (about 40 s the first time, a hash check after).
func DriverGuest(t testing.TB) string {
	t.Helper()
	dir, m := testGuest(t)
	if hasDrivers(m, DriverModules()) {
		return dir
	}
	return debianGuest(t, dir, m, DriverGuestDirName, DriverModules())
}

// DriverlessGuest returns a guest image directory whose guest has no NVMe
// driver, for the failure of a function no guest driver takes: the test
// guest when it lacks it, else a Debian kernel without extra modules (the
// Kite kernel has NVMe built in).
func DriverlessGuest(t testing.TB) string {
	t.Helper()
	dir, m := testGuest(t)
	if m.Kernel.From() == guest.KernelDebian && !slices.Contains(m.ModuleNames(), "nvme") {
		return dir
	}
	return debianGuest(t, dir, m, "guest-nodrivers", nil)
}

// testGuest is the test guest's directory and manifest.
func testGuest(t testing.TB) (string, *guest.Manifest) {
	t.Helper()
	kernel, _ := vmtest.GuestPaths(t)
	dir := filepath.Dir(kernel)
	m, err := guest.LoadManifest(dir)
	if err != nil {
		t.Fatalf("reading the test guest's manifest: %v", err)
	}
	return dir, m
}

// debianGuest builds (or reuses) into name, beside the test guest dir, an
// image with the test guest's agent and busybox and a Debian kernel that
// loads modules: the test guest's own kernel package (from its cache) when
// it is Debian's, else apt's current one (fetched into that cache once).
// Builds are serialized with a lock: test packages run in parallel.
func debianGuest(t testing.TB, dir string, m *guest.Manifest, name string, modules []string) string {
	t.Helper()
	out := filepath.Join(filepath.Dir(dir), name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	unlock, err := flock.Path(ctx, filepath.Join(out, ".lock"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	agent := filepath.Join(out, "kite-agent")
	if err := extractAgent(guest.PathsIn(dir).Initrd, agent); err != nil {
		t.Fatal(err)
	}
	kdeb := ""
	if m.Kernel.From() == guest.KernelDebian {
		kdeb = filepath.Join(dir, "cache", deb.Candidate{Package: m.Kernel.Package, Version: m.Kernel.Version, Architecture: "amd64"}.FileName())
	}
	start := time.Now()
	_, err = guest.Build(ctx, guest.BuildOptions{OutDir: out, CacheDir: filepath.Join(dir, "cache"), AgentPath: agent,
		Kernel: guest.KernelDebian, KernelDeb: kdeb, ExtraModules: modules})
	if err != nil {
		t.Fatalf("building the guest with modules %v in %s: %v", modules, out, err)
	}
	t.Logf("guest with modules %v ready in %s: %s", modules, time.Since(start).Round(time.Millisecond), out)
	return out
}

// hasDrivers: the Kite kernel has the drivers built in; a Debian image has
// them when it loads them.
func hasDrivers(m *guest.Manifest, drivers []string) bool {
	if m.Kernel.From() == guest.KernelKite {
		return true
	}
	have := append(m.ModuleNames(), m.Builtin...)
	for _, d := range drivers {
		if !slices.Contains(have, d) {
			return false
		}
	}
	return true
}

// extractAgent writes the agent of the guest initramfs initrd (its /init)
// to dst, unless dst already holds exactly it.
func extractAgent(initrd, dst string) error {
	f, err := os.Open(initrd)
	if err != nil {
		return err
	}
	defer f.Close()
	entries, err := initramfs.Read(f)
	if err != nil {
		return fmt.Errorf("reading %s: %w", initrd, err)
	}
	i := slices.IndexFunc(entries, func(e initramfs.Entry) bool { return e.Path == "init" || e.Path == "/init" })
	if i < 0 {
		return fmt.Errorf("%s has no /init (the agent)", initrd)
	}
	agent := entries[i].Data
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, agent) {
		return nil
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, agent, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}
