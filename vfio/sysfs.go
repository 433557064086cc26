package vfio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kite-vm/kite/internal/pci"
	"github.com/kite-vm/kite/internal/sysfs"
)

// VFIODriver is the name of the host driver that hands a function to VFIO.
const VFIODriver = "vfio-pci"

// deviceDir validates bdf and returns its directory under the sysfs root,
// failing with ErrNoDevice when the function is not there. bdf must be in
// the kernel's form (pci.ParseAddress), which is also its file name.
func deviceDir(sysfsRoot, bdf string) (string, error) {
	if _, err := pci.ParseAddress(bdf); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadBDF, err)
	}
	dir := filepath.Join(sysfsRoot, "bus", "pci", "devices", bdf)
	if _, err := os.Stat(dir); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("%w: %s (no %s)", ErrNoDevice, bdf, dir)
		}
		return "", fmt.Errorf("looking up PCI function %s: %w", bdf, err)
	}
	return dir, nil
}

func currentDriver(dir string) (string, error) {
	return sysfs.LinkBase(filepath.Join(dir, "driver"))
}

// currentOverride reads driver_override, "" when unset: the kernel shows an
// unset override as "(null)".
func currentOverride(dir string) (string, error) {
	path := filepath.Join(dir, "driver_override")
	s, err := readAttr(path)
	if err != nil {
		return "", err
	}
	if s == "(null)" {
		return "", nil
	}
	return s, nil
}

func readAttr(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
