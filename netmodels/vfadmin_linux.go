package netmodels

import (
	"bytes"
	"net"

	"github.com/kite-vm/kite/vfio"
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
	vf, ok, err := vfio.VFOf(sysfsRoot, bdf)
	if err != nil || !ok || vf.PFNetdev == "" {
		return nil, err
	}
	old, err := vf.MAC()
	if err != nil || bytes.Equal(old, mac) {
		return nil, err
	}
	return &VFAdmin{PF: vf.PFNetdev, Index: vf.Index, OldMAC: old.String()}, nil
}

func (a *VFAdmin) vf() vfio.VF { return vfio.VF{PFNetdev: a.PF, Index: a.Index} }

// set gives the VF the admin MAC mac.
func (a *VFAdmin) set(mac net.HardwareAddr) error { return a.vf().SetMAC(mac) }

// restore puts the admin MAC back, unless there was none.
func (a *VFAdmin) restore() error {
	old, err := net.ParseMAC(a.OldMAC)
	if err != nil || bytes.Equal(old, make(net.HardwareAddr, len(old))) {
		return nil
	}
	return a.vf().SetMAC(old)
}
