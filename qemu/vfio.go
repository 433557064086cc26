package qemu

import (
	"strconv"
	"strings"
)

const vfioKind = "vfio-pci"

// VFIO passes a host PCI function (bound to vfio-pci) through to the guest.
type VFIO struct {
	ID    string
	Bus   string
	Host  string // full BDF, e.g. 0000:3b:02.1
	NoROM bool   // romfile= : skip the option ROM (VFs have none to load)
}

// Validate checks the spec alone.
func (v VFIO) Validate() error {
	if err := checkID(vfioKind, v.ID); err != nil {
		return err
	}
	if !validBDF(v.Host) {
		return invalid(vfioKind, v.ID, "Host", "%q is not a PCI address like 0000:3b:02.1", v.Host)
	}
	return nil
}

// Parts returns the vfio-pci device.
func (v VFIO) Parts(FDs) Parts {
	props := []Prop{Str("host", v.Host)}
	if v.NoROM {
		props = append(props, Str("romfile", ""))
	}
	return Parts{Devices: []DeviceProps{{Driver: "vfio-pci", ID: v.ID, Bus: v.Bus, Props: props}}}
}

// validBDF accepts domain:bus:device.function in sysfs form.
func validBDF(bdf string) bool {
	parts := strings.FieldsFunc(bdf, func(r rune) bool { return r == ':' || r == '.' })
	widths := []int{4, 2, 2, 1}
	limits := []uint64{0xffff, 0xff, 0x1f, 7}
	if len(parts) != 4 || len(bdf) != 12 || bdf[4] != ':' || bdf[7] != ':' || bdf[10] != '.' {
		return false
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 16, 16)
		if err != nil || len(p) != widths[i] || n > limits[i] {
			return false
		}
	}
	return true
}
