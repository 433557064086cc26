package vfio

import (
	"fmt"
	"net"
	"strings"

	"github.com/vishvananda/netlink"
)

// VFConfig is the admin state of one VF, set through its PF's netdev. The
// host sets it, not the guest: a VF inside a pod cannot change its own MAC,
// VLAN or trust.
type VFConfig struct {
	MAC net.HardwareAddr // nil leaves the MAC as it is
	// VLAN tags the VF's traffic; 0 means untagged. It is always written, so
	// a VF reused by another pod does not keep the previous pod's VLAN.
	VLAN       int
	Trust      *bool // nil leaves it as it is
	SpoofCheck *bool // nil leaves it as it is
}

// maxVLAN is the highest usable 802.1Q VLAN ID (4095 is reserved).
const maxVLAN = 4094

// Validate checks the configuration without touching the host.
func (c VFConfig) Validate() error {
	if c.MAC != nil {
		if len(c.MAC) != 6 {
			return fmt.Errorf("%w: MAC %s is not a 6-byte Ethernet address", ErrBadVFConfig, c.MAC)
		}
		if c.MAC[0]&1 == 1 {
			return fmt.Errorf("%w: MAC %s is a multicast address", ErrBadVFConfig, c.MAC)
		}
		if isZero(c.MAC) {
			return fmt.Errorf("%w: MAC %s is all zeros", ErrBadVFConfig, c.MAC)
		}
	}
	if c.VLAN < 0 || c.VLAN > maxVLAN {
		return fmt.Errorf("%w: VLAN %d is outside 0..%d", ErrBadVFConfig, c.VLAN, maxVLAN)
	}
	return nil
}

func isZero(mac net.HardwareAddr) bool {
	for _, b := range mac {
		if b != 0 {
			return false
		}
	}
	return true
}

// validNetdevName mirrors the kernel's dev_valid_name.
func validNetdevName(name string) bool {
	return name != "" && len(name) < 16 && name != "." && name != ".." &&
		!strings.ContainsAny(name, "/: \t\n")
}

// ConfigureVF applies c to VF number vfIndex of the PF whose netdev is
// pfNetdev, in the current network namespace.
func ConfigureVF(pfNetdev string, vfIndex int, c VFConfig) error {
	if !validNetdevName(pfNetdev) {
		return fmt.Errorf("%w: %q is not a network interface name", ErrBadVFConfig, pfNetdev)
	}
	if vfIndex < 0 {
		return fmt.Errorf("%w: VF index %d is negative", ErrBadVFConfig, vfIndex)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("configuring VF %d of %s: %w", vfIndex, pfNetdev, err)
	}
	link, err := netlink.LinkByName(pfNetdev)
	if err != nil {
		return fmt.Errorf("configuring VF %d of %s: finding the PF netdev: %w", vfIndex, pfNetdev, err)
	}
	if err := applyVF(link, vfIndex, c); err != nil {
		return fmt.Errorf("configuring VF %d of %s: %w", vfIndex, pfNetdev, err)
	}
	return nil
}

func applyVF(link netlink.Link, vf int, c VFConfig) error {
	if c.MAC != nil {
		if err := netlink.LinkSetVfHardwareAddr(link, vf, c.MAC); err != nil {
			return fmt.Errorf("setting MAC %s: %w", c.MAC, err)
		}
	}
	if err := netlink.LinkSetVfVlan(link, vf, c.VLAN); err != nil {
		return fmt.Errorf("setting VLAN %d: %w", c.VLAN, err)
	}
	if c.Trust != nil {
		if err := netlink.LinkSetVfTrust(link, vf, *c.Trust); err != nil {
			return fmt.Errorf("setting trust %t: %w", *c.Trust, err)
		}
	}
	if c.SpoofCheck != nil {
		if err := netlink.LinkSetVfSpoofchk(link, vf, *c.SpoofCheck); err != nil {
			return fmt.Errorf("setting spoofchk %t: %w", *c.SpoofCheck, err)
		}
	}
	return nil
}
