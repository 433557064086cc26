package devices

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

// TestBindFunctionStorage: an NVMe function's driver binds it, then its
// namespace shows up as a disk under the function; a partition of it and
// another function's disk are not taken for it.
func TestBindFunctionStorage(t *testing.T) {
	fx := newFixture(t)
	k := newFakeKernel(t, fx, "")
	sysfstest.File(t, k.dir, "class", "0x010802\n")
	other := sysfstest.PCIDevice(t, fx.sysfs, "00:05", "02:00")
	sysfstest.Dir(t, other, "nvme/nvme1/nvme1n1")
	sysfstest.Symlink(t, fx.sysfs, "class/block/nvme1n1", filepath.Join(other, "nvme/nvme1/nvme1n1"))
	sysfstest.File(t, other, "nvme/nvme1/nvme1n1/dev", "259:2\n")
	fx.touchDev(t, "nvme1n1")
	go func() {
		k.probe(fx) // binds virtio-pci: any kernel driver will do
		ns := filepath.Join(k.dir, "nvme/nvme0/nvme0n1")
		sysfstest.File(t, ns, "dev", "259:0\n")
		sysfstest.File(t, ns, "nvme0n1p1/partition", "1\n")
		sysfstest.File(t, ns, "nvme0n1p1/dev", "259:1\n")
		sysfstest.Symlink(t, fx.sysfs, "class/block/nvme0n1p1", filepath.Join(ns, "nvme0n1p1"))
		fx.touchDev(t, "nvme0n1p1")
		sysfstest.Symlink(t, fx.sysfs, "class/block/nvme0n1", ns)
		fx.w.Notify()
		time.Sleep(20 * time.Millisecond)
		fx.touchDev(t, "nvme0n1")
		fx.w.Notify()
	}()
	node, err := fx.f.BindFunction(context.Background(), mustPath(t, "04/00"), k.dir, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Node{Name: "nvme0n1", Path: filepath.Join(fx.dev, "nvme0n1"), Major: 259, Minor: 0}); node != want {
		t.Errorf("BindFunction = %+v, want %+v", node, want)
	}
}

// TestBindFunctionMultipath: a namespace its NVMe subsystem shares is a
// head disk under the subsystem, which links to the function's controller;
// the path (a hidden disk) lies under the function: the head is the
// function's disk.
func TestBindFunctionMultipath(t *testing.T) {
	fx := newFixture(t)
	k := newFakeKernel(t, fx, "")
	sysfstest.File(t, k.dir, "class", "0x010802\n")
	go func() {
		k.probe(fx)
		path := filepath.Join(k.dir, "nvme/nvme0/nvme0c0n1")
		sysfstest.File(t, path, "hidden", "1\n")
		sysfstest.File(t, path, "dev", "259:1\n")
		sysfstest.Symlink(t, fx.sysfs, "class/block/nvme0c0n1", path)
		subsys := filepath.Join(fx.sysfs, "devices/virtual/nvme-subsystem/nvme-subsys0")
		head := filepath.Join(subsys, "nvme0n1")
		sysfstest.File(t, head, "hidden", "0\n")
		sysfstest.File(t, head, "dev", "259:0\n")
		sysfstest.Symlink(t, subsys, "nvme0", filepath.Join(k.dir, "nvme/nvme0"))
		sysfstest.Symlink(t, fx.sysfs, "class/block/nvme0n1", head)
		fx.touchDev(t, "nvme0n1")
		fx.w.Notify()
	}()
	node, err := fx.f.BindFunction(context.Background(), mustPath(t, "04/00"), k.dir, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if node.Name != "nvme0n1" || node.Major != 259 || node.Minor != 0 {
		t.Errorf("BindFunction = %+v, want the multipath head nvme0n1 (259:0)", node)
	}
}

// TestBindFunctionNIC: a network function has no node, and BindFunction
// returns only once its driver registered its netdev, which the kernel
// does late in the probe, after linking the function to the driver; a
// netdev that never comes is a timeout naming it.
func TestBindFunctionNIC(t *testing.T) {
	fx := newFixture(t)
	k := newFakeKernel(t, fx, "")
	sysfstest.File(t, k.dir, "class", "0x020000\n")
	registered := make(chan time.Time, 1)
	go func() {
		k.probe(fx)
		time.Sleep(50 * time.Millisecond) // the probe goes on
		sysfstest.Dir(t, k.dir, "net/eth1")
		registered <- time.Now()
		fx.w.Notify()
	}()
	node, err := fx.f.BindFunction(context.Background(), mustPath(t, "04/00"), k.dir, 10*time.Second)
	if err != nil || node != (Node{}) {
		t.Errorf("BindFunction = %+v, %v; want no node", node, err)
	}
	select {
	case <-registered:
	default:
		t.Error("BindFunction returned before the function's netdev was registered")
	}

	fx = newFixture(t)
	k = newFakeKernel(t, fx, "")
	sysfstest.File(t, k.dir, "class", "0x020000\n")
	go k.probe(fx)
	_, err = fx.f.BindFunction(context.Background(), mustPath(t, "04/00"), k.dir, 300*time.Millisecond)
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "network interface of the function at PCI path 04/00") {
		t.Errorf("BindFunction without a netdev = %v, want a timeout naming the interface", err)
	}
}

// TestBindFunctionNoDriver: nothing binds the function (its module is not
// in the guest): the error names it, its ids, its path and the remedy.
func TestBindFunctionNoDriver(t *testing.T) {
	fx := newFixture(t)
	k := newFakeKernel(t, fx, "")
	for name, v := range map[string]string{"class": "0x020000\n", "vendor": "0x8086\n", "device": "0x10d3\n"} {
		sysfstest.File(t, k.dir, name, v)
	}
	_, err := fx.f.BindFunction(context.Background(), mustPath(t, "04/00"), k.dir, 50*time.Millisecond)
	if !errors.Is(err, ErrNoDriver) {
		t.Fatalf("BindFunction = %v, want ErrNoDriver", err)
	}
	for _, want := range []string{"0000:01:00.0 (8086:10d3, class 020000)", "PCI path 04/00", "kite guest build --modules"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
