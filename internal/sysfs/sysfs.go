// Package sysfs holds the small sysfs readers that the host-side PCI
// packages (devicemgr's inventory, vfio's binding) share. Every function takes
// the sysfs root ("/sys" on a real host) so tests run on fake trees.
package sysfs

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// LinkBase returns the last element of a symlink's target, "" when the link
// does not exist (an unbound driver, no IOMMU, not a VF).
func LinkBase(path string) (string, error) {
	target, err := os.Readlink(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading link %s: %w", path, err)
	}
	return filepath.Base(target), nil
}

// IOMMUGroupMembers lists root/kernel/iommu_groups/<n>/devices in BDF order.
func IOMMUGroupMembers(root string, n int) ([]string, error) {
	dir := filepath.Join(root, "kernel", "iommu_groups", strconv.Itoa(n), "devices")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing IOMMU group %d: %w", n, err)
	}
	members := make([]string, 0, len(ents))
	for _, e := range ents {
		members = append(members, e.Name())
	}
	slices.SortFunc(members, CompareBDF)
	return members, nil
}

// CompareBDF orders BDFs numerically: bus, device and function have fixed
// widths, so only a domain wider than four digits needs care.
func CompareBDF(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b))
}
