package devices

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/server/pcipath"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

type fixture struct {
	sysfs, dev string
	w          *Watcher
	f          *Finder
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	sysfs, dev := t.TempDir(), t.TempDir()
	w := NewWatcher(time.Hour) // only Notify wakes waits: no timing luck
	return fixture{sysfs: sysfs, dev: dev, w: w, f: NewFinder(sysfs, dev, w)}
}

func mustPath(t *testing.T, s string) pcipath.Path {
	t.Helper()
	p, err := pcipath.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// later runs fn in the background after the wait has started, then wakes it
// the way a uevent would.
func (fx fixture) later(fn func()) {
	go func() {
		time.Sleep(20 * time.Millisecond)
		fn()
		fx.w.Notify()
	}()
}

func (fx fixture) touchDev(t *testing.T, name string) {
	t.Helper()
	p := filepath.Join(fx.dev, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Error(err)
	}
}

func TestWaitPCIHotplugged(t *testing.T) {
	fx := newFixture(t)
	want := filepath.Join(fx.sysfs, "devices/pci0000:00/0000:00:02.0/0000:01:00.0")
	fx.later(func() { sysfstest.PCIDevice(t, fx.sysfs, "00:02", "01:00") })
	got, err := fx.f.WaitPCI(context.Background(), mustPath(t, "02/00"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("WaitPCI = %s, want %s", got, want)
	}
}

func TestWaitPCITimeout(t *testing.T) {
	fx := newFixture(t)
	sysfstest.PCIDevice(t, fx.sysfs, "00:02") // the root port, nothing behind it
	_, err := fx.f.WaitPCI(context.Background(), mustPath(t, "02/00"), 30*time.Millisecond)
	if want := "device at PCI path 02/00 did not appear within 30ms"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestWaitBlock(t *testing.T) {
	fx := newFixture(t)
	dir := sysfstest.PCIDevice(t, fx.sysfs, "00:03", "02:00")
	sysfstest.Dir(t, dir, "virtio2/block/vdb")
	sysfstest.File(t, fx.sysfs, "class/block/vdb/dev", "254:16\n")
	// sysfs is complete but devtmpfs has not made the node: still waiting.
	fx.later(func() { fx.touchDev(t, "vdb") })
	got, err := fx.f.WaitBlock(context.Background(), mustPath(t, "03/00"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := Node{Name: "vdb", Path: filepath.Join(fx.dev, "vdb"), Major: 254, Minor: 16}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WaitBlock mismatch (-want +got):\n%s", diff)
	}
}

func TestWaitBlockTimeoutOnANIC(t *testing.T) {
	fx := newFixture(t)
	dir := sysfstest.PCIDevice(t, fx.sysfs, "00:03")
	sysfstest.Dir(t, dir, "virtio2/net/eth1")
	_, err := fx.f.WaitBlock(context.Background(), mustPath(t, "03"), 20*time.Millisecond)
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("error = %v, want ErrTimeout", err)
	}
}

func TestWaitNet(t *testing.T) {
	for _, tt := range []struct{ name, child string }{
		{name: "virtio", child: "virtio4/net/eth1"},
		{name: "passed through VF", child: "net/ens3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			dir := sysfstest.PCIDevice(t, fx.sysfs, "00:05", "03:00")
			fx.later(func() { sysfstest.Dir(t, dir, tt.child) })
			got, err := fx.f.WaitNet(context.Background(), mustPath(t, "05/00"), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Base(tt.child); got != want {
				t.Errorf("WaitNet = %q, want %q", got, want)
			}
		})
	}
}

func TestWaitPmem(t *testing.T) {
	fx := newFixture(t)
	sysfstest.File(t, fx.sysfs, "class/block/pmem1/dev", "259:1\n")
	fx.touchDev(t, "pmem1")
	got, err := fx.f.WaitPmem(context.Background(), "pmem1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got.Major != 259 || got.Minor != 1 || got.Path != filepath.Join(fx.dev, "pmem1") {
		t.Errorf("WaitPmem = %+v", got)
	}
	for _, bad := range []string{"vda", "pmem", "pmem0/../vda", "../pmem0"} {
		if _, err := fx.f.WaitPmem(context.Background(), bad, time.Millisecond); err == nil || errors.Is(err, ErrTimeout) {
			t.Errorf("WaitPmem(%q) error = %v, want a refusal", bad, err)
		}
	}
}

func TestFSTag(t *testing.T) {
	fx := newFixture(t)
	ninep := sysfstest.PCIDevice(t, fx.sysfs, "00:06")
	sysfstest.File(t, ninep, "virtio5/mount_tag", "shared\x00")
	vfs := sysfstest.PCIDevice(t, fx.sysfs, "00:07")
	sysfstest.Dir(t, vfs, "virtio6")
	sysfstest.File(t, fx.sysfs, "fs/virtiofs/0/tag", "kitefs\n")
	sysfstest.Symlink(t, fx.sysfs, "fs/virtiofs/0/device", filepath.Join(vfs, "virtio6"))
	old := sysfstest.PCIDevice(t, fx.sysfs, "00:08")
	sysfstest.Dir(t, old, "virtio7")

	for dir, want := range map[string]string{ninep: "shared", vfs: "kitefs", old: ""} {
		if got := fx.f.FSTag(dir); got != want {
			t.Errorf("FSTag(%s) = %q, want %q", filepath.Base(dir), got, want)
		}
	}
}
