package sysfs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLinkBase(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "driver")
	if err := os.Symlink("../../bus/pci/drivers/ixgbe", link); err != nil {
		t.Fatal(err)
	}
	if got, err := LinkBase(link); err != nil || got != "ixgbe" {
		t.Errorf("LinkBase = %q, %v; want ixgbe", got, err)
	}
	if got, err := LinkBase(filepath.Join(dir, "missing")); err != nil || got != "" {
		t.Errorf("LinkBase(missing) = %q, %v; want \"\", nil", got, err)
	}
	if _, err := LinkBase(dir); err == nil { // a directory, not a link
		t.Error("LinkBase of a directory succeeded")
	}
}

func TestIOMMUGroupMembers(t *testing.T) {
	root := t.TempDir()
	devs := filepath.Join(root, "kernel", "iommu_groups", "7", "devices")
	for _, bdf := range []string{"0000:3b:02.1", "10000:00:01.0", "0000:3b:00.0"} {
		if err := os.MkdirAll(filepath.Join(devs, bdf), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := IOMMUGroupMembers(root, 7)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"0000:3b:00.0", "0000:3b:02.1", "10000:00:01.0"}, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if _, err := IOMMUGroupMembers(root, 8); err == nil {
		t.Error("a missing group listed without error")
	}
}
