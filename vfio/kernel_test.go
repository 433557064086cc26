package vfio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

func TestSysfsWriteAttr(t *testing.T) {
	dir := t.TempDir()
	attr := sysfstest.File(t, dir, "sriov_numvfs", "16\n")
	if err := (Sysfs{}).WriteAttr(attr, "4"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(attr); string(b) != "4" {
		t.Errorf("attribute holds %q, want %q", b, "4")
	}
	// A missing attribute is not created: it means an old kernel or no driver.
	missing := filepath.Join(dir, "driver_override")
	err := (Sysfs{}).WriteAttr(missing, "vfio-pci")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("WriteAttr(missing) = %v, want ErrNotExist naming %s", err, missing)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteAttr created %s", missing)
	}
}
