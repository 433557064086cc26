package vfio

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// PlanVFChange returns what setting want changes on a VF whose admin state
// is cur (as VF.Settings reads it), and the settings that put back what it
// changes. A setting want leaves alone, or that cur has already, is in
// neither. An admin MAC the PF held none of (all zeros) is not put back:
// the VF keeps the one set, which its netdev had when Kite took it.
func PlanVFChange(cur, want VFSettings) (set, undo VFSettings) {
	if want.MAC != nil && !bytes.Equal(want.MAC, cur.MAC) {
		set.MAC = want.MAC
		if cur.MAC != nil && !isZero(cur.MAC) {
			undo.MAC = cur.MAC
		}
	}
	if w := want.VLAN; w != nil {
		n := VLAN{ID: w.ID, QoS: w.QoS, Proto: w.Proto.orDefault()}
		if c := cur.VLAN; c == nil || *c != n {
			set.VLAN = &n
			undo.VLAN = cur.VLAN
		}
	}
	if w := want.Rate; w != nil {
		if c := cur.Rate; c == nil || *c != *w {
			set.Rate = w
			undo.Rate = cur.Rate
		}
	}
	set.SpoofChk, undo.SpoofChk = planBool(cur.SpoofChk, want.SpoofChk)
	set.Trust, undo.Trust = planBool(cur.Trust, want.Trust)
	if want.LinkState != "" && want.LinkState != cur.LinkState {
		set.LinkState, undo.LinkState = want.LinkState, cur.LinkState
	}
	return set, undo
}

func planBool(cur, want *bool) (set, undo *bool) {
	if want == nil || cur != nil && *cur == *want {
		return nil, nil
	}
	return want, cur
}

// VFChange is a change of a VF's admin state with its undo: plain data,
// for a crash record to put the VF back after the process that changed it
// died.
type VFChange struct {
	PFNetdev string     `json:"pf"`
	Index    int        `json:"index"`
	Set      VFSettings `json:"set"`
	Undo     VFSettings `json:"undo"`
}

// PrepareChange reads the VF's admin state and returns the change that
// gives it want, nil when it has it already. Nothing is set yet: the
// caller records the change, then applies it.
func (v VF) PrepareChange(want VFSettings) (*VFChange, error) {
	if err := want.Validate(); err != nil {
		return nil, fmt.Errorf("VF %d of %s: %w", v.Index, v.PFNetdev, err)
	}
	cur, err := v.Settings()
	if err != nil {
		return nil, err
	}
	set, undo := PlanVFChange(cur, want)
	if set.IsZero() {
		return nil, nil
	}
	return &VFChange{PFNetdev: v.PFNetdev, Index: v.Index, Set: set, Undo: undo}, nil
}

// ChangeFor prepares the change that gives the function at bdf want
// through its PF (VF.PrepareChange): nil when it has it already. A
// function that is no VF of a PF with a netdev here is ErrNotVF.
func ChangeFor(sysfsRoot, bdf string, want VFSettings) (*VFChange, error) {
	vf, ok, err := VFOf(sysfsRoot, bdf)
	if err != nil {
		return nil, err
	}
	if !ok || vf.PFNetdev == "" {
		return nil, fmt.Errorf("%s: %w", bdf, ErrNotVF)
	}
	c, err := vf.PrepareChange(want)
	if err != nil {
		return nil, fmt.Errorf("VF %s: %w", bdf, err)
	}
	return c, nil
}

func (c *VFChange) vf() VF { return VF{PFNetdev: c.PFNetdev, Index: c.Index} }

// Apply sets the change; a setting the PF refuses fails it, and what was
// set before it is put back.
func (c *VFChange) Apply() error {
	link, err := netlink.LinkByName(c.PFNetdev)
	if err != nil {
		return fmt.Errorf("setting VF %d of %s: finding the PF: %w", c.Index, c.PFNetdev, err)
	}
	set := c.Set.steps()
	for i, st := range set {
		if err := st.set(link, c.Index); err != nil {
			done := map[string]bool{}
			for _, d := range set[:i] {
				done[d.key] = true
			}
			undo := slices.DeleteFunc(c.Undo.steps(), func(u vfStep) bool { return !done[u.key] })
			return errors.Join(c.vf().settingError(st.what, err), c.setAll(link, undo))
		}
	}
	return nil
}

// Revert puts back what Apply set. A PF that is gone has taken its VFs
// with it: there is nothing left to put back.
func (c *VFChange) Revert() error {
	link, err := netlink.LinkByName(c.PFNetdev)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("putting back VF %d of %s: finding the PF: %w", c.Index, c.PFNetdev, err)
	}
	return c.setAll(link, c.Undo.steps())
}

// setAll makes every step, naming each that fails.
func (c *VFChange) setAll(link netlink.Link, steps []vfStep) error {
	var errs []error
	for _, st := range steps {
		if err := st.set(link, c.Index); err != nil {
			errs = append(errs, c.vf().settingError(st.what, err))
		}
	}
	return errors.Join(errs...)
}

// settingError names the VF, the PF and the setting, and says when the
// PF's driver has no such setting.
func (v VF) settingError(what string, err error) error {
	if errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("setting %s on VF %d of %s: the PF's driver does not support it: %w", what, v.Index, v.PFNetdev, err)
	}
	return fmt.Errorf("setting %s on VF %d of %s: %w", what, v.Index, v.PFNetdev, err)
}

// vfStep is one netlink call that sets part of a VF's admin state.
type vfStep struct {
	key  string // which setting
	what string // what it sets, as ip-link(8) would say it
	set  func(link netlink.Link, vf int) error
}

// steps are the calls that set s, in the order they are made.
func (s VFSettings) steps() []vfStep {
	var out []vfStep
	if s.MAC != nil {
		mac := s.MAC
		out = append(out, vfStep{"mac", "mac " + mac.String(), func(l netlink.Link, vf int) error {
			return netlink.LinkSetVfHardwareAddr(l, vf, mac)
		}})
	}
	if v := s.VLAN; v != nil {
		what := fmt.Sprintf("vlan %d", v.ID)
		if v.QoS != 0 {
			what += fmt.Sprintf(" qos %d", v.QoS)
		}
		if v.Proto.orDefault() != VLAN8021Q {
			what += " proto " + string(v.Proto)
		}
		out = append(out, vfStep{"vlan", what, func(l netlink.Link, vf int) error {
			if v.Proto.orDefault() == VLAN8021Q {
				// IFLA_VF_VLAN, which every driver takes; the protocol
				// needs IFLA_VF_VLAN_LIST.
				return netlink.LinkSetVfVlanQos(l, vf, v.ID, v.QoS)
			}
			return netlink.LinkSetVfVlanQosProto(l, vf, v.ID, v.QoS, v.Proto.ethertype())
		}})
	}
	if r := s.Rate; r != nil {
		out = append(out, vfStep{"rate", fmt.Sprintf("min_tx_rate %d max_tx_rate %d", r.MinMbps, r.MaxMbps), func(l netlink.Link, vf int) error {
			return netlink.LinkSetVfRate(l, vf, r.MinMbps, r.MaxMbps)
		}})
	}
	if b := s.SpoofChk; b != nil {
		out = append(out, vfStep{"spoofchk", "spoofchk " + onOff(*b), func(l netlink.Link, vf int) error {
			return netlink.LinkSetVfSpoofchk(l, vf, *b)
		}})
	}
	if b := s.Trust; b != nil {
		out = append(out, vfStep{"trust", "trust " + onOff(*b), func(l netlink.Link, vf int) error {
			return netlink.LinkSetVfTrust(l, vf, *b)
		}})
	}
	if st := s.LinkState; st != "" {
		out = append(out, vfStep{"state", "state " + string(st), func(l netlink.Link, vf int) error {
			return netlink.LinkSetVfState(l, vf, st.ifla())
		}})
	}
	return out
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
