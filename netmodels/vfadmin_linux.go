package netmodels

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/internal/sysfs"
	"github.com/vishvananda/netlink"
)

// VFAdmin is the MAC a VF's PF holds for it (its "admin" MAC, `ip link set
// PF vf N mac M`), as it was before Kite set the pod interface's: the PF
// gives a VF that MAC when it resets, whoever drives the VF, and an igb
// PF refuses a VF driver's own change of it. Kite sets it before the VF is
// passed through, so that the guest's VF driver comes up with the pod's
// MAC and the host's comes back with it, and puts OldMAC back when the VF
// is given back (an all-zero OldMAC, none set, is left: the VF keeps the
// pod's MAC its netdev had).
type VFAdmin struct {
	PF     string `json:"pf"`     // the PF's netdev, in the host's netns
	Index  int    `json:"index"`  // the VF's index on the PF
	OldMAC string `json:"oldMac"` // the admin MAC before
}

// vfAdminFor reads the admin MAC of the VF at bdf and returns what setting
// it to mac changes, or nil when nothing would: the function is not a VF,
// its PF has no netdev on the host, or the MAC is already mac.
func vfAdminFor(sysfsRoot, bdf string, mac net.HardwareAddr) (*VFAdmin, error) {
	if len(mac) == 0 {
		return nil, nil
	}
	dev := filepath.Join(sysfsRoot, "bus", "pci", "devices", bdf)
	pfBDF, err := sysfs.LinkBase(filepath.Join(dev, "physfn"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // not a VF
	}
	if err != nil {
		return nil, fmt.Errorf("reading the PF of %s: %w", bdf, err)
	}
	pfDir := filepath.Join(sysfsRoot, "bus", "pci", "devices", pfBDF)
	nets, _ := os.ReadDir(filepath.Join(pfDir, "net"))
	if len(nets) == 0 {
		return nil, nil // the PF has no netdev here: nothing to ask it
	}
	index, err := vfIndex(pfDir, bdf)
	if err != nil {
		return nil, err
	}
	pf := nets[0].Name()
	link, err := netlink.LinkByName(pf)
	if err != nil {
		return nil, fmt.Errorf("reading PF %s of VF %s: %w", pf, bdf, err)
	}
	for _, vf := range link.Attrs().Vfs {
		if vf.ID != index {
			continue
		}
		if bytes.Equal(vf.Mac, mac) {
			return nil, nil
		}
		return &VFAdmin{PF: pf, Index: index, OldMAC: vf.Mac.String()}, nil
	}
	return nil, fmt.Errorf("PF %s does not list VF %d (%s)", pf, index, bdf)
}

// vfIndex finds which virtfnN of the PF at pfDir is bdf.
func vfIndex(pfDir, bdf string) (int, error) {
	links, _ := filepath.Glob(filepath.Join(pfDir, "virtfn*"))
	for _, l := range links {
		if target, err := sysfs.LinkBase(l); err == nil && target == bdf {
			n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(l), "virtfn"))
			if err == nil {
				return n, nil
			}
		}
	}
	return 0, fmt.Errorf("VF %s is not among the virtfn links of its PF %s", bdf, filepath.Base(pfDir))
}

// set gives the VF the admin MAC mac.
func (a *VFAdmin) set(mac net.HardwareAddr) error {
	return a.setMAC(mac)
}

// restore puts the admin MAC back, unless there was none.
func (a *VFAdmin) restore() error {
	old, err := net.ParseMAC(a.OldMAC)
	if err != nil || bytes.Equal(old, make(net.HardwareAddr, len(old))) {
		return nil
	}
	return a.setMAC(old)
}

func (a *VFAdmin) setMAC(mac net.HardwareAddr) error {
	link, err := netlink.LinkByName(a.PF)
	if err != nil {
		return fmt.Errorf("finding PF %s: %w", a.PF, err)
	}
	if err := netlink.LinkSetVfHardwareAddr(link, a.Index, mac); err != nil {
		return fmt.Errorf("setting the MAC of VF %d of %s to %s through the PF: %w", a.Index, a.PF, mac, err)
	}
	return nil
}
