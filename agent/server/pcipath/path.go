package pcipath

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every error about a malformed path.
var ErrInvalid = errors.New("invalid guest PCI path")

// maxDepth bounds the bridge levels a path may cross; PCIe hierarchies in
// a VM are never this deep, so more is a malformed request.
const maxDepth = 8

// maxSlot is the highest PCI device number (5 bits).
const maxSlot = 0x1f

// Path is a guest PCI path: one device slot per bus level, root bus first.
// The zero Path is invalid.
type Path struct {
	slots []uint8
}

// Parse parses "RR/DD[/..]" where each element is a hex slot number of one
// or two digits.
func Parse(s string) (Path, error) {
	if s == "" {
		return Path{}, fmt.Errorf("%w: empty", ErrInvalid)
	}
	elems := strings.Split(s, "/")
	if len(elems) > maxDepth {
		return Path{}, fmt.Errorf("%w %q: more than %d levels", ErrInvalid, s, maxDepth)
	}
	slots := make([]uint8, 0, len(elems))
	for _, e := range elems {
		if len(e) == 0 || len(e) > 2 {
			return Path{}, fmt.Errorf("%w %q: element %q is not a 1-2 digit hex slot", ErrInvalid, s, e)
		}
		v, err := strconv.ParseUint(e, 16, 8)
		if err != nil || v > maxSlot {
			return Path{}, fmt.Errorf("%w %q: element %q is not a slot 00-1f", ErrInvalid, s, e)
		}
		slots = append(slots, uint8(v))
	}
	return Path{slots: slots}, nil
}

// Slots returns the slot numbers, root bus first.
func (p Path) Slots() []uint8 { return append([]uint8(nil), p.slots...) }

// IsZero reports whether p is the zero Path.
func (p Path) IsZero() bool { return len(p.slots) == 0 }

// String formats p as the host writes it: two hex digits per element.
func (p Path) String() string {
	parts := make([]string, len(p.slots))
	for i, s := range p.slots {
		parts[i] = fmt.Sprintf("%02x", s)
	}
	return strings.Join(parts, "/")
}
