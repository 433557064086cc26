package vfio

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/internal/sysfs"
	"github.com/vishvananda/netlink"
)

// VF is an SR-IOV virtual function as its PF knows it.
type VF struct {
	PF       string // the PF's PCI address
	PFNetdev string // the PF's network interface on this host, "" if none
	Index    int    // N of the PF's virtfnN link to the VF
}

// VFOf finds the PF of the function at bdf and the function's index on
// it; ok is false when the function is no VF (it has no physfn link).
func VFOf(sysfsRoot, bdf string) (vf VF, ok bool, err error) {
	dev := filepath.Join(sysfsRoot, "bus", "pci", "devices", bdf)
	pf, err := sysfs.LinkBase(filepath.Join(dev, "physfn"))
	if err != nil {
		return VF{}, false, fmt.Errorf("reading the PF of %s: %w", bdf, err)
	}
	if pf == "" {
		return VF{}, false, nil
	}
	pfDir := filepath.Join(sysfsRoot, "bus", "pci", "devices", pf)
	vf = VF{PF: pf, Index: -1}
	links, _ := filepath.Glob(filepath.Join(pfDir, "virtfn*"))
	for _, l := range links {
		if target, err := sysfs.LinkBase(l); err == nil && target == bdf {
			if n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(l), "virtfn")); err == nil {
				vf.Index = n
			}
		}
	}
	if vf.Index < 0 {
		return VF{}, false, fmt.Errorf("VF %s is not among the virtfn links of its PF %s", bdf, pf)
	}
	if nets, _ := os.ReadDir(filepath.Join(pfDir, "net")); len(nets) > 0 {
		vf.PFNetdev = nets[0].Name()
	}
	return vf, true, nil
}

// MAC reads the MAC the PF holds for the VF (its admin MAC: what the VF
// gets when it resets, whoever drives it).
func (v VF) MAC() (net.HardwareAddr, error) {
	link, err := netlink.LinkByName(v.PFNetdev)
	if err != nil {
		return nil, fmt.Errorf("reading PF %s: %w", v.PFNetdev, err)
	}
	for _, info := range link.Attrs().Vfs {
		if info.ID == v.Index {
			return info.Mac, nil
		}
	}
	return nil, fmt.Errorf("PF %s does not list VF %d", v.PFNetdev, v.Index)
}

// SetMAC has the PF give the VF mac (`ip link set PF vf N mac M`),
// leaving its other settings as they are.
func (v VF) SetMAC(mac net.HardwareAddr) error {
	link, err := netlink.LinkByName(v.PFNetdev)
	if err != nil {
		return fmt.Errorf("finding PF %s: %w", v.PFNetdev, err)
	}
	if err := netlink.LinkSetVfHardwareAddr(link, v.Index, mac); err != nil {
		return fmt.Errorf("setting the MAC of VF %d of %s to %s through the PF: %w", v.Index, v.PFNetdev, mac, err)
	}
	return nil
}
