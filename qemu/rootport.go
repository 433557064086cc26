package qemu

import (
	"strconv"
	"strings"
)

// rootBus is the PCIe root complex's bus on q35 and microvm,pcie=on.
const rootBus = "pcie.0"

// RootPort is a pcie-root-port on the root bus: each holds one device, cold-
// or hot-plugged. Chassis and Slot identify the port's hotplug slot and must
// be unique as a pair.
type RootPort struct {
	ID      string
	Chassis int    // 0..255
	Slot    int    // 0..8191
	Addr    string // "" lets QEMU pick; "0x4" or "0x4.1"
}

// RootPortPool returns n ports named prefix0.. prefix<n-1> with chassis and
// slot i+1, a pool to hot-plug devices into.
func RootPortPool(prefix string, n int) []RootPort {
	ports := make([]RootPort, n)
	for i := range ports {
		ports[i] = RootPort{ID: prefix + strconv.Itoa(i), Chassis: i + 1, Slot: i + 1}
	}
	return ports
}

const rootPortKind = "root-port"

// Validate checks the port alone.
func (r RootPort) Validate() error {
	if err := checkID(rootPortKind, r.ID); err != nil {
		return err
	}
	if r.Chassis < 0 || r.Chassis > 255 {
		return invalid(rootPortKind, r.ID, "Chassis", "%d is outside 0..255", r.Chassis)
	}
	if r.Slot < 0 || r.Slot > 8191 {
		return invalid(rootPortKind, r.ID, "Slot", "%d is outside 0..8191", r.Slot)
	}
	if r.Addr != "" && !validPCIAddr(r.Addr) {
		return invalid(rootPortKind, r.ID, "Addr", "%q is not a slot[.function] like 0x4 or 0x4.1", r.Addr)
	}
	return nil
}

// Props returns the port's -device.
func (r RootPort) Props() DeviceProps {
	return DeviceProps{Driver: "pcie-root-port", ID: r.ID, Bus: rootBus, Addr: r.Addr, Props: []Prop{
		Int("chassis", int64(r.Chassis)), Int("slot", int64(r.Slot)),
	}}
}

// validPCIAddr accepts QEMU's addr syntax with a hex slot (0x0-0x1f) and an
// optional function (0-7).
func validPCIAddr(addr string) bool {
	slot, fn, hasFn := strings.Cut(addr, ".")
	hex, ok := strings.CutPrefix(strings.ToLower(slot), "0x")
	s, err := strconv.ParseUint(hex, 16, 8)
	if !ok || err != nil || s > 0x1f {
		return false
	}
	if !hasFn {
		return true
	}
	f, err := strconv.ParseUint(fn, 10, 8)
	return err == nil && f <= 7
}
