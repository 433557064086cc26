package pcipath

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

func TestResolve(t *testing.T) {
	sysfs := t.TempDir()
	direct := sysfstest.PCIDevice(t, sysfs, "00:03")
	behindPort := sysfstest.PCIDevice(t, sysfs, "00:02", "01:00")
	// The guest numbered the bus behind root port 04 as 05, not 02: the
	// path must follow pci_bus, not guess from the order.
	twoBridges := sysfstest.PCIDevice(t, sysfs, "00:04", "05:01", "06:1f")
	sysfstest.Dir(t, sysfs, "devices/pci0000:00/0000:00:07.0") // a root port with nothing enumerated

	tests := []struct {
		path    string
		want    string
		wantErr error
	}{
		{path: "03", want: direct},
		{path: "02/00", want: behindPort},
		{path: "04/01/1f", want: twoBridges},
		{path: "02/01", wantErr: ErrNotFound},
		{path: "09", wantErr: ErrNotFound},
		{path: "07/00", wantErr: ErrNotFound},
		{path: "03/00", wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := Parse(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Resolve(sysfs, p)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Resolve(%s) error = %v, want %v", tt.path, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%s): %v", tt.path, err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%s) = %s, want %s", tt.path, got, tt.want)
			}
			back, ok := FromDevicePath(filepath.Join(got, "virtio3", "net", "eth0"))
			if !ok || back.String() != p.String() {
				t.Errorf("FromDevicePath(Resolve(%s)) = %s, %v", tt.path, back, ok)
			}
		})
	}
	if _, err := Resolve(sysfs, Path{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Resolve(zero) error = %v, want ErrInvalid", err)
	}
}

func TestFromDevicePathNotPCI(t *testing.T) {
	for _, p := range []string{
		"/sys/devices/virtual/net/lo",
		"/sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region0/namespace0.0",
		"/sys/devices/pci0000:00/virtio1",
	} {
		if got, ok := FromDevicePath(p); ok {
			t.Errorf("FromDevicePath(%s) = %s, want not a PCI device", p, got)
		}
	}
}

func TestFromDevicePathStopsAtNonPCI(t *testing.T) {
	tests := []struct {
		devPath string
		want    string
	}{
		{"/sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0/virtio3/block/vda", "02/00"},
		{"/sys/devices/pci0000:00/0000:00:05.0/0000:03:00.1/net/eth0", "05/00"},
		{"/sys/devices/pci0000:00/0000:00:03.0/0000:01:20.0", "03"},    // device 20 is no PCI device
		{"/sys/devices/pci0000:00/0000:00:03.0/0000:01:0A.0", "03"},    // nor is upper case the kernel's
		{"/sys/devices/pci0000:00/0000:00:1f.7/0000:01:00.0", "1f/00"}, // the function is not part of the path
	}
	for _, tt := range tests {
		got, ok := FromDevicePath(tt.devPath)
		if !ok || got.String() != tt.want {
			t.Errorf("FromDevicePath(%s) = %q, %v; want %q", tt.devPath, got, ok, tt.want)
		}
	}
	deep := "/sys/devices/pci0000:00" + strings.Repeat("/0000:00:01.0", 9)
	if got, ok := FromDevicePath(deep); ok {
		t.Errorf("FromDevicePath(9 levels) = %q, want not a path (more than 8 levels)", got)
	}
}
