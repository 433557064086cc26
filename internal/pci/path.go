package pci

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidPath is wrapped by every error about a malformed guest PCI path.
var ErrInvalidPath = errors.New("invalid guest PCI path")

// maxDepth bounds the bus levels a path may cross; PCIe hierarchies in a
// VM are never this deep, so more is a malformed request.
const maxDepth = 8

// Path is a guest PCI path: the device (slot) number at each bus level,
// root bus first. "05/00" is device 00 on the bus behind the root port in
// slot 05 of the root bus. Kite names guest devices this way because the
// slots are fixed by the QEMU command line, while the guest kernel numbers
// buses (and so chooses BDFs) itself. The zero Path is invalid.
type Path struct {
	slots []uint8
}

// NewPath returns the path through slots, root bus first: NewPath(5, 0) is
// "05/00".
func NewPath(slots ...uint8) (Path, error) {
	if len(slots) == 0 {
		return Path{}, fmt.Errorf("%w: empty", ErrInvalidPath)
	}
	if len(slots) > maxDepth {
		return Path{}, fmt.Errorf("%w: %d levels, more than %d", ErrInvalidPath, len(slots), maxDepth)
	}
	for _, s := range slots {
		if s > maxDevice {
			return Path{}, fmt.Errorf("%w: slot %02x is above %02x", ErrInvalidPath, s, maxDevice)
		}
	}
	return Path{slots: append([]uint8(nil), slots...)}, nil
}

// ParsePath parses "RR/DD[/..]": one slot per level, each one or two hex
// digits of either case. String writes two lower-case digits.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return Path{}, fmt.Errorf("%w: empty", ErrInvalidPath)
	}
	elems := strings.Split(s, "/")
	if len(elems) > maxDepth {
		return Path{}, fmt.Errorf("%w %q: more than %d levels", ErrInvalidPath, s, maxDepth)
	}
	slots := make([]uint8, 0, len(elems))
	for _, e := range elems {
		if len(e) == 0 || len(e) > 2 {
			return Path{}, fmt.Errorf("%w %q: element %q is not a 1-2 digit hex slot", ErrInvalidPath, s, e)
		}
		v, err := strconv.ParseUint(e, 16, 8)
		if err != nil || v > maxDevice {
			return Path{}, fmt.Errorf("%w %q: element %q is not a slot 00-%02x", ErrInvalidPath, s, e, maxDevice)
		}
		slots = append(slots, uint8(v))
	}
	return Path{slots: slots}, nil
}

// Slots returns the slot numbers, root bus first.
func (p Path) Slots() []uint8 { return append([]uint8(nil), p.slots...) }

// IsZero reports whether p is the zero Path.
func (p Path) IsZero() bool { return len(p.slots) == 0 }

// String formats p as the host writes it: two hex digits per slot.
func (p Path) String() string {
	parts := make([]string, len(p.slots))
	for i, s := range p.slots {
		parts[i] = fmt.Sprintf("%02x", s)
	}
	return strings.Join(parts, "/")
}
