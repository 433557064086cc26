package testhost

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoPF means no SR-IOV PF with the asked-for IDs is present.
var ErrNoPF = errors.New("no SR-IOV PF found")

// FindPF returns the BDF of the first (in BDF order) SR-IOV capable function
// under sysfsRoot with the vendor and device IDs as sysfs writes them
// ("0x1b36"): inside the test host, the NVMe PF.
func FindPF(sysfsRoot, vendor, device string) (string, error) {
	dir := filepath.Join(sysfsRoot, "bus", "pci", "devices")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("listing PCI functions: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	for _, bdf := range names {
		if readTrim(filepath.Join(dir, bdf, "vendor")) == vendor &&
			readTrim(filepath.Join(dir, bdf, "device")) == device &&
			readTrim(filepath.Join(dir, bdf, "sriov_totalvfs")) != "" {
			return bdf, nil
		}
	}
	return "", fmt.Errorf("%w: %s:%s under %s", ErrNoPF, vendor, device, dir)
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}
