package pcipath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kite-vm/kite/internal/pci"
)

// ErrNotFound is wrapped when no device sits at a path (yet).
var ErrNotFound = errors.New("no PCI device at path")

// rootBus is the guest's only PCI root bus (q35's pcie.0, microvm's GPEX).
const rootBus = "0000:00"

// Resolve returns the sysfs directory of the device at p, e.g.
// <sysfs>/devices/pci0000:00/0000:00:02.0/0000:01:00.0 for "02/00". It
// walks bridge by bridge, reading each bridge's secondary bus number from
// its pci_bus directory, because the guest kernel numbers buses itself.
func Resolve(sysfs string, p Path) (string, error) {
	if p.IsZero() {
		return "", fmt.Errorf("%w: empty", ErrInvalid)
	}
	dir, bus := filepath.Join(sysfs, "devices", "pci"+rootBus), rootBus
	var dev string
	for i, slot := range p.Slots() {
		if i > 0 {
			next, err := secondaryBus(dev)
			if err != nil {
				return "", fmt.Errorf("resolving PCI path %s: %w", p, err)
			}
			dir, bus = dev, next
		}
		dev = filepath.Join(dir, fmt.Sprintf("%s:%02x.0", bus, slot))
		if _, err := os.Stat(dev); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("%w %s", ErrNotFound, p)
			}
			return "", fmt.Errorf("resolving PCI path %s: %w", p, err)
		}
	}
	return dev, nil
}

// secondaryBus returns the bus behind bridge dev ("0000:01"), or ErrNotFound
// while the kernel has not enumerated it yet.
func secondaryBus(dev string) (string, error) {
	entries, err := os.ReadDir(filepath.Join(dev, "pci_bus"))
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return "", fmt.Errorf("%w: %s is not a bridge with a bus", ErrNotFound, filepath.Base(dev))
	}
	if err != nil {
		return "", err
	}
	return entries[0].Name(), nil
}

// BDF returns the PCI address ("0000:01:00.0") of a device directory.
func BDF(devDir string) string { return filepath.Base(devDir) }

// FromDevicePath returns the guest PCI path of the PCI device a resolved
// sysfs device path lies in, e.g. "/sys/devices/pci0000:00/0000:00:02.0/
// 0000:01:00.0/virtio3" gives "02/00". ok is false for a non-PCI device.
func FromDevicePath(devPath string) (p Path, ok bool) {
	parts := strings.Split(filepath.ToSlash(devPath), "/")
	start := -1
	for i, part := range parts {
		if part == "pci"+rootBus {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return Path{}, false
	}
	var slots []uint8
	for _, part := range parts[start:] {
		a, err := pci.ParseAddress(part)
		if err != nil {
			break
		}
		slots = append(slots, a.Device)
	}
	// NewPath refuses no slots (not a PCI device) and chains deeper than a
	// path may be (a device Kite could not have named).
	p, err := pci.NewPath(slots...)
	return p, err == nil
}
