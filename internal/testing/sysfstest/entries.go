package sysfstest

import (
	"os"
	"path/filepath"
	"testing"
)

// PCIDevice creates the device directory reached through the chain of
// (bus, slot) hops, e.g. PCIDevice(t, root, "00:02", "01:00") makes
// devices/pci0000:00/0000:00:02.0/0000:01:00.0 with a pci_bus/0000:01 entry
// in the bridge. It returns the device directory.
func PCIDevice(t testing.TB, sysfs string, hops ...string) string {
	t.Helper()
	dir := filepath.Join(sysfs, "devices", "pci0000:00")
	for i, hop := range hops {
		dev := filepath.Join(dir, "0000:"+hop+".0")
		mkdir(t, dev)
		if i+1 < len(hops) {
			mkdir(t, filepath.Join(dev, "pci_bus", "0000:"+hops[i+1][:2]))
		}
		dir = dev
	}
	return dir
}

// File writes content to dir/rel, creating parent directories, and
// returns its path.
func File(t testing.TB, dir, rel, content string) string {
	t.Helper()
	p := filepath.Join(dir, rel)
	mkdir(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Symlink makes dir/rel a symlink to target (as given), creating parent
// directories.
func Symlink(t testing.TB, dir, rel, target string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	mkdir(t, filepath.Dir(p))
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// Dir creates dir/rel and returns it.
func Dir(t testing.TB, dir, rel string) string {
	t.Helper()
	p := filepath.Join(dir, rel)
	mkdir(t, p)
	return p
}

func mkdir(t testing.TB, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}
