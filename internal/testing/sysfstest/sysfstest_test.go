package sysfstest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPCIDeviceBehindBridges(t *testing.T) {
	root := t.TempDir()
	dir := PCIDevice(t, root, "00:02", "01:00")
	if want := filepath.Join(root, "devices/pci0000:00/0000:00:02.0/0000:01:00.0"); dir != want {
		t.Errorf("device dir = %s, want %s", dir, want)
	}
	if _, err := os.Stat(filepath.Join(root, "devices/pci0000:00/0000:00:02.0/pci_bus/0000:01")); err != nil {
		t.Errorf("the bridge has no pci_bus entry of its secondary bus: %v", err)
	}
}

func TestTreeLinksAreRelative(t *testing.T) {
	tree := New(t)
	tree.Add(Function{BDF: "0000:3b:00.0", Driver: "ixgbe", IOMMUGroup: "7"})
	tree.AddVF("0000:3b:00.0", 0, Function{BDF: "0000:3b:02.0"})
	for link, want := range map[string]string{
		"bus/pci/devices/0000:3b:02.0":               "devices/pci0000:00/0000:3b:02.0",
		"bus/pci/devices/0000:3b:00.0/driver":        "bus/pci/drivers/ixgbe",
		"bus/pci/devices/0000:3b:00.0/iommu_group":   "kernel/iommu_groups/7",
		"bus/pci/devices/0000:3b:00.0/virtfn0":       "devices/pci0000:00/0000:3b:02.0",
		"kernel/iommu_groups/7/devices/0000:3b:00.0": "devices/pci0000:00/0000:3b:00.0",
		"devices/pci0000:00/0000:3b:02.0/physfn":     "devices/pci0000:00/0000:3b:00.0",
	} {
		p := filepath.Join(tree.Root, link)
		target, err := os.Readlink(p)
		if err != nil || filepath.IsAbs(target) {
			t.Errorf("%s -> %q, %v; want a relative link", link, target, err)
			continue
		}
		got, err := filepath.EvalSymlinks(p)
		if err != nil || !strings.HasSuffix(got, want) {
			t.Errorf("%s resolves to %s, %v; want .../%s", link, got, err, want)
		}
	}
}
