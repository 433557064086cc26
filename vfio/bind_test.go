package vfio

import (
	"encoding/json"
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

type binding struct{ Driver, Override string }

// bindTree: a bound VF, an unbound function, one already on vfio-pci, and one
// whose driver_override was set by someone else before Kite.
func bindTree(t *testing.T, drivers ...string) (*sysfstest.Tree, *fakeKernel) {
	t.Helper()
	tree := sysfstest.New(t)
	tree.Add(sysfstest.Function{BDF: "0000:3b:00.0", Class: "0x020000", Driver: "ixgbe", IOMMUGroup: "7"})
	tree.AddVF("0000:3b:00.0", 1, sysfstest.Function{BDF: "0000:3b:02.1", Class: "0x020000", Driver: "ixgbevf", IOMMUGroup: "42"})
	tree.AddVF("0000:3b:00.0", 2, sysfstest.Function{BDF: "0000:3b:02.2", Class: "0x020000", Driver: "vfio-pci", IOMMUGroup: "43"})
	tree.AddVF("0000:3b:00.0", 3, sysfstest.Function{BDF: "0000:3b:02.3", Class: "0x020000", Driver: "ixgbevf", IOMMUGroup: "44"})
	tree.Add(sysfstest.Function{BDF: "0000:5e:00.0", Class: "0x010802", IOMMUGroup: "50"})
	k := newFakeKernel(t, tree, drivers...)
	for bdf, drv := range map[string]string{"0000:3b:00.0": "ixgbe", "0000:3b:02.1": "ixgbevf", "0000:3b:02.2": "ixgbevf", "0000:3b:02.3": "ixgbevf", "0000:5e:00.0": "nvme"} {
		k.addDevice(bdf, drv)
	}
	tree.WriteFile("0000:3b:02.3", "driver_override", "ixgbevf\n")
	return tree, k
}

var allDrivers = []string{"ixgbe", "ixgbevf", "nvme", "vfio-pci"}

func snapshot(t *testing.T, root string) map[string]binding {
	t.Helper()
	s := map[string]binding{}
	for _, bdf := range []string{"0000:3b:00.0", "0000:3b:02.1", "0000:3b:02.2", "0000:3b:02.3", "0000:5e:00.0"} {
		dir, err := deviceDir(root, bdf)
		if err != nil {
			t.Fatal(err)
		}
		b, err := readBinding(dir, bdf)
		if err != nil {
			t.Fatal(err)
		}
		s[bdf] = binding{b.Driver, b.DriverOverride}
	}
	return s
}

func TestBindAndRestore(t *testing.T) {
	tests := []struct {
		bdf  string
		want Restore
	}{
		{bdf: "0000:3b:02.1", want: Restore{BDF: "0000:3b:02.1", Driver: "ixgbevf"}},
		{bdf: "0000:5e:00.0", want: Restore{BDF: "0000:5e:00.0"}},
		{bdf: "0000:3b:02.2", want: Restore{BDF: "0000:3b:02.2", Driver: "vfio-pci"}},
		{bdf: "0000:3b:02.3", want: Restore{BDF: "0000:3b:02.3", Driver: "ixgbevf", DriverOverride: "ixgbevf"}},
	}
	for _, tc := range tests {
		t.Run(tc.bdf, func(t *testing.T) {
			tree, k := bindTree(t, allDrivers...)
			before := snapshot(t, tree.Root)

			r, err := Bind(k, tree.Root, tc.bdf)
			if err != nil {
				t.Fatalf("Bind: %v", err)
			}
			if diff := cmp.Diff(tc.want, r); diff != "" {
				t.Errorf("Bind restore record (-want +got):\n%s", diff)
			}
			bound := snapshot(t, tree.Root)
			wantBound := cloneWith(before, tc.bdf, binding{"vfio-pci", "vfio-pci"})
			if tc.want.Driver == "vfio-pci" { // already there: Bind changes nothing
				wantBound = before
			}
			if diff := cmp.Diff(wantBound, bound); diff != "" {
				t.Errorf("after Bind (-want +got):\n%s", diff)
			}

			// The record goes to disk and comes back after a restart.
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var back Restore
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			for i := range 2 { // idempotent: the second Apply writes nothing
				k.writes = nil
				if err := back.Apply(k, tree.Root); err != nil {
					t.Fatalf("Apply #%d: %v", i+1, err)
				}
				if diff := cmp.Diff(before, snapshot(t, tree.Root)); diff != "" {
					t.Errorf("after Apply #%d (-want +got):\n%s", i+1, diff)
				}
			}
			if len(k.writes) != 0 {
				t.Errorf("second Apply wrote %q, want nothing", k.writes)
			}
		})
	}
}

func cloneWith(m map[string]binding, bdf string, b binding) map[string]binding {
	c := map[string]binding{}
	for k, v := range m {
		c[k] = v
	}
	c[bdf] = b
	return c
}

func TestBindWrites(t *testing.T) {
	tree, k := bindTree(t, allDrivers...)
	if _, err := Bind(k, tree.Root, "0000:3b:02.1"); err != nil {
		t.Fatal(err)
	}
	dev := "bus/pci/devices/0000:3b:02.1/"
	want := []string{dev + "driver_override=vfio-pci", dev + "driver/unbind=0000:3b:02.1", "bus/pci/drivers_probe=0000:3b:02.1"}
	if diff := cmp.Diff(want, k.writes); diff != "" {
		t.Errorf("sysfs writes (-want +got):\n%s", diff)
	}
}

func TestBindFailureLeavesTreeAsItWas(t *testing.T) {
	const vf = "0000:3b:02.1"
	tests := []struct {
		name     string
		fail     string // file whose write fails
		noBind   string // driver whose probe binds nothing
		wantErr  error
		wantFile string
	}{
		{name: "override refused", fail: "driver_override", wantErr: syscall.EINVAL, wantFile: "driver_override"},
		{name: "unbind fails", fail: "unbind", wantErr: syscall.EBUSY, wantFile: "unbind"},
		{name: "probe fails", fail: "drivers_probe", wantErr: syscall.ENOMEM, wantFile: "drivers_probe"},
		{name: "vfio-pci does not take it", noBind: "vfio-pci", wantErr: ErrBindFailed, wantFile: "driver"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree, k := bindTree(t, allDrivers...)
			if tc.fail != "" {
				k.fail[tc.fail] = tc.wantErr
			}
			if tc.noBind != "" {
				k.noBind[tc.noBind] = true
			}
			before := snapshot(t, tree.Root)
			_, err := Bind(k, tree.Root, vf)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Bind error = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), vf) || !strings.Contains(err.Error(), tc.wantFile) {
				t.Errorf("Bind error %q does not name %s and %s", err, vf, tc.wantFile)
			}
			if diff := cmp.Diff(before, snapshot(t, tree.Root)); diff != "" {
				t.Errorf("tree changed by a failed Bind (-before +after):\n%s", diff)
			}
		})
	}
}

func TestBindRefusals(t *testing.T) {
	tests := []struct {
		name    string
		bdf     string
		wantErr error
	}{
		{name: "unknown device", bdf: "0000:99:00.0", wantErr: ErrNoDevice},
		{name: "malformed", bdf: "0000:3b:02", wantErr: ErrBadBDF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree, k := bindTree(t, allDrivers...)
			if _, err := Bind(k, tree.Root, tc.bdf); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Bind error = %v, want %v", err, tc.wantErr)
			}
			if len(k.writes) != 0 {
				t.Errorf("refused Bind wrote %q", k.writes)
			}
		})
	}
}

func TestRestoreFinishesInterruptedState(t *testing.T) {
	tree, k := bindTree(t, allDrivers...)
	const vf = "0000:3b:02.1"
	before := snapshot(t, tree.Root)
	// As if Kite died between unbind and probe.
	tree.Remove(vf, "driver")
	tree.WriteFile(vf, "driver_override", "vfio-pci\n")
	if err := (Restore{BDF: vf, Driver: "ixgbevf"}).Apply(k, tree.Root); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, snapshot(t, tree.Root)); diff != "" {
		t.Errorf("after Apply (-want +got):\n%s", diff)
	}
}

func TestRestoreFailureNamesDevice(t *testing.T) {
	tree, k := bindTree(t, allDrivers...)
	const vf = "0000:3b:02.1"
	r, err := Bind(k, tree.Root, vf)
	if err != nil {
		t.Fatal(err)
	}
	k.noBind["ixgbevf"] = true
	err = r.Apply(k, tree.Root)
	if !errors.Is(err, ErrBindFailed) || !strings.Contains(err.Error(), vf) || !strings.Contains(err.Error(), "ixgbevf") {
		t.Fatalf("Apply error = %v, want ErrBindFailed naming %s and ixgbevf", err, vf)
	}
	// The override is put back even so: nothing is left pinned to a driver.
	if got := snapshot(t, tree.Root)[vf]; got != (binding{"", ""}) {
		t.Errorf("after failed Apply %s = %+v, want unbound without override", vf, got)
	}
}

func TestBindWithoutVFIODriver(t *testing.T) {
	tree := sysfstest.New(t)
	tree.Add(sysfstest.Function{BDF: "0000:5e:00.0", Class: "0x010802", Driver: "nvme", IOMMUGroup: "50"})
	k := newFakeKernel(t, tree, "nvme")
	k.addDevice("0000:5e:00.0", "nvme")
	_, err := Bind(k, tree.Root, "0000:5e:00.0")
	if !errors.Is(err, ErrNoVFIODriver) || !strings.Contains(err.Error(), "modprobe vfio-pci") {
		t.Fatalf("Bind error = %v, want ErrNoVFIODriver with a modprobe hint", err)
	}
	if len(k.writes) != 0 {
		t.Errorf("refused Bind wrote %q", k.writes)
	}
}
