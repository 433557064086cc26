package vfio

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
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

// Settings reads the admin state the PF holds for the VF (IFLA_VFINFO_LIST
// of the PF's netdev): every field set, but Trust when the PF's driver
// has no such setting.
func (v VF) Settings() (VFSettings, error) {
	link, err := netlink.LinkByName(v.PFNetdev)
	if err != nil {
		return VFSettings{}, fmt.Errorf("reading PF %s: %w", v.PFNetdev, err)
	}
	for _, info := range link.Attrs().Vfs {
		if info.ID == v.Index {
			return settingsOf(info), nil
		}
	}
	return VFSettings{}, fmt.Errorf("PF %s does not list VF %d", v.PFNetdev, v.Index)
}

// settingsOf reads netlink's account of a VF. The kernel reports -1 for a
// trust setting the driver does not have.
func settingsOf(info netlink.VfInfo) VFSettings {
	proto := VLAN8021Q
	if info.VlanProto == 0x88a8 {
		proto = VLAN8021AD
	}
	rate := Rate{MinMbps: int(info.MinTxRate), MaxMbps: int(info.MaxTxRate)}
	if rate.MaxMbps == 0 {
		rate.MaxMbps = info.TxRate
	}
	spoof := info.Spoofchk
	s := VFSettings{
		MAC:      slices.Clone(info.Mac),
		VLAN:     &VLAN{ID: info.Vlan, QoS: info.Qos, Proto: proto},
		Rate:     &rate,
		SpoofChk: &spoof,
	}
	if info.Trust != math.MaxUint32 {
		trust := info.Trust != 0
		s.Trust = &trust
	}
	if int(info.LinkState) < len(LinkState("").Values()) {
		s.LinkState = LinkState("").Values()[info.LinkState]
	}
	return s
}
