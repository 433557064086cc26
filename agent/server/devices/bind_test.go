package devices

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/sysfstest"
	"golang.org/x/sys/unix"
)

// fakeKernel plays the PCI core on a fake sysfs: it reacts to writes of
// unbind and drivers_probe the way Linux does, honouring driver_override.
type fakeKernel struct {
	t     *testing.T
	sysfs string
	dir   string
	w     *Watcher
	group string
}

func newFakeKernel(t *testing.T, fx fixture, driver string) *fakeKernel {
	k := &fakeKernel{t: t, sysfs: fx.sysfs, w: fx.w, group: "7"}
	k.dir = sysfstest.PCIDevice(t, fx.sysfs, "00:04", "01:00")
	sysfstest.File(t, k.dir, "driver_override", "")
	sysfstest.File(t, fx.sysfs, "bus/pci/drivers_probe", "")
	sysfstest.Symlink(t, k.dir, "iommu_group", "../../../../kernel/iommu_groups/"+k.group)
	for _, d := range []string{"virtio-pci", "vfio-pci"} {
		sysfstest.File(t, fx.sysfs, "bus/pci/drivers/"+d+"/unbind", "")
	}
	if driver != "" {
		k.bind(driver)
	}
	return k
}

func (k *fakeKernel) bind(driver string) {
	_ = os.Remove(filepath.Join(k.dir, "driver"))
	sysfstest.Symlink(k.t, k.dir, "driver", filepath.Join(k.sysfs, "bus/pci/drivers", driver))
}

func (k *fakeKernel) read(rel string) string {
	b, err := os.ReadFile(filepath.Join(k.sysfs, rel))
	if err != nil {
		k.t.Error(err)
	}
	return string(b)
}

// probe applies what was written: an unbind drops the driver, a probe binds
// the override or else the device's own driver, and vfio-pci makes a group.
func (k *fakeKernel) probe(fx fixture) {
	time.Sleep(10 * time.Millisecond)
	if strings.TrimSpace(k.read("bus/pci/drivers_probe")) != "0000:01:00.0" {
		k.t.Errorf("drivers_probe = %q, want the BDF", k.read("bus/pci/drivers_probe"))
	}
	override := strings.TrimSpace(k.read(strings.TrimPrefix(k.dir, k.sysfs) + "/driver_override"))
	if override == "" {
		k.bind("virtio-pci")
	} else {
		k.bind(override)
		sysfstest.File(k.t, k.sysfs, "class/vfio/"+k.group+"/dev", "245:0\n")
		fx.touchDev(k.t, "vfio/"+k.group)
	}
	k.w.Notify()
}

func TestBindVFIO(t *testing.T) {
	fx := newFixture(t)
	k := newFakeKernel(t, fx, "virtio-pci")
	go k.probe(fx)
	node, err := fx.f.BindVFIO(context.Background(), k.dir, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.read("bus/pci/drivers/virtio-pci/unbind"); got != "0000:01:00.0" {
		t.Errorf("unbind got %q, want the BDF", got)
	}
	want := Node{Name: "7", Path: filepath.Join(fx.dev, "vfio/7"), Major: 245, Minor: 0}
	if node != want {
		t.Errorf("BindVFIO = %+v, want %+v", node, want)
	}
}

func TestBindVFIOWithoutIOMMU(t *testing.T) {
	fx := newFixture(t)
	k := newFakeKernel(t, fx, "vfio-pci")
	os.Remove(filepath.Join(k.dir, "iommu_group"))
	_, err := fx.f.BindVFIO(context.Background(), k.dir, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "IOMMU") {
		t.Errorf("error = %v, want one about the missing IOMMU", err)
	}
}

func TestBindVFIOWithoutVFIOPCI(t *testing.T) {
	fx := newFixture(t)
	k := newFakeKernel(t, fx, "virtio-pci")
	os.RemoveAll(filepath.Join(fx.sysfs, "bus/pci/drivers/vfio-pci"))
	_, err := fx.f.BindVFIO(context.Background(), k.dir, 10*time.Second)
	if !errors.Is(err, ErrNoDriver) || !strings.Contains(err.Error(), "no vfio-pci driver") {
		t.Errorf("error = %v, want ErrNoDriver about the missing vfio-pci", err)
	}
	if got := k.read("bus/pci/drivers/virtio-pci/unbind"); got != "" {
		t.Errorf("the function was unbound (%q) before the refusal", got)
	}
}

func TestBindKernel(t *testing.T) {
	fx := newFixture(t)
	k := newFakeKernel(t, fx, "vfio-pci")
	go k.probe(fx)
	drv, err := fx.f.BindKernel(context.Background(), k.dir, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if drv != "virtio-pci" {
		t.Errorf("BindKernel = %q, want virtio-pci", drv)
	}
	if got := k.read("bus/pci/drivers/vfio-pci/unbind"); got != "0000:01:00.0" {
		t.Errorf("vfio-pci unbind got %q, want the BDF", got)
	}
}

// drivers_probe answers ENODEV for a function the PCI core has not put on
// the bus yet: the probe is tried again until it is, within its bound.
func TestWhileNoDevice(t *testing.T) {
	calls := 0
	err := whileNoDevice(func() error {
		calls++
		if calls < 3 {
			return unix.ENODEV
		}
		return nil
	}, time.Second)
	if err != nil || calls != 3 {
		t.Errorf("whileNoDevice = %v after %d calls, want nil after 3", err, calls)
	}
	calls = 0
	if err := whileNoDevice(func() error { calls++; return unix.ENODEV }, 30*time.Millisecond); !errors.Is(err, unix.ENODEV) || calls < 2 {
		t.Errorf("a device that never comes: %v after %d calls, want ENODEV after retries", err, calls)
	}
	calls = 0
	if err := whileNoDevice(func() error { calls++; return unix.EINVAL }, time.Second); !errors.Is(err, unix.EINVAL) || calls != 1 {
		t.Errorf("another error: %v after %d calls, want EINVAL at once", err, calls)
	}
}
