package configs

import (
	"errors"
	"time"
)

// HotplugMethod is how the guest learns of PCI hot plug and unplug.
type HotplugMethod string

// Hotplug methods.
const (
	// HotplugACPI: QEMU's ACPI PCI hotplug (q35 only). Measured under TCG:
	// the guest sees a device 22-53 ms after device_add, unplug takes 42-153 ms.
	HotplugACPI HotplugMethod = "acpi"
	// HotplugNative: PCIe native hotplug (pciehp) on the root ports. Add takes
	// 160-190 ms, unplug about 5 s (the attention-button delay).
	HotplugNative HotplugMethod = "native"
)

// Values lists the accepted hotplug methods.
func (HotplugMethod) Values() []HotplugMethod { return []HotplugMethod{HotplugACPI, HotplugNative} }

// UnmarshalText accepts only Values().
func (m *HotplugMethod) UnmarshalText(b []byte) error { return parseEnum(m, b, m.Values()) }

// maxSpareRootPorts: every root port takes a slot of pcie.0, which has 32.
const maxSpareRootPorts = 32

// Hotplug configures PCI hot plug into running VMs.
type Hotplug struct {
	Method         HotplugMethod `toml:"method" json:"method"`
	SpareRootPorts int           `toml:"spare_root_ports" json:"spare_root_ports"`
	Spare9PShares  int           `toml:"spare_9p_shares" json:"spare_9p_shares"`
	DeviceTimeout  Duration      `toml:"device_timeout" json:"device_timeout"`
}

// Validate checks every knob of the section.
func (h Hotplug) Validate() error {
	return errors.Join(
		oneOf("hotplug.method", h.Method, h.Method.Values()),
		inRange("hotplug.spare_root_ports", h.SpareRootPorts, 0, maxSpareRootPorts),
		inRange("hotplug.spare_9p_shares", h.Spare9PShares, 0, maxSpareRootPorts),
		durationRange("hotplug.device_timeout", h.DeviceTimeout, 100*time.Millisecond, 5*time.Minute),
	)
}
