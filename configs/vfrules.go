package configs

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/kite-vm/kite/internal/pci"
)

// VFRule is one [[devices.vf]] entry: the admin settings Kite gives an
// SR-IOV VF it matches, through the VF's PF, before passing it through
// (what the SR-IOV CNI sets for a VF it moves into a pod), and puts back
// when it gives the VF back. A VF matches when it is a VF of PF, if the
// rule names one, and was assigned under Resource, if the rule names one;
// the first rule that matches applies. A setting left out leaves the VF's
// as it is.
type VFRule struct {
	// PF is the physical function: its network interface on the host
	// ("enp59s0f0") or its PCI address.
	PF string `toml:"pf,omitempty" json:"pf,omitempty"`
	// Resource is the device plugin resource the VF was assigned under
	// ("intel.com/sriov_netdevice"): the PCIDEVICE_<RESOURCE> variable, or
	// the PodResources answer.
	Resource  string      `toml:"resource,omitempty" json:"resource,omitempty"`
	VLAN      *int        `toml:"vlan" json:"vlan,omitempty"`
	VLANQoS   *int        `toml:"vlan_qos" json:"vlan_qos,omitempty"`
	VLANProto VLANProto   `toml:"vlan_proto,omitempty" json:"vlan_proto,omitempty"`
	SpoofChk  *bool       `toml:"spoofchk" json:"spoofchk,omitempty"`
	Trust     *bool       `toml:"trust" json:"trust,omitempty"`
	MinTxRate *int        `toml:"min_tx_rate" json:"min_tx_rate,omitempty"` // Mbit/s
	MaxTxRate *int        `toml:"max_tx_rate" json:"max_tx_rate,omitempty"` // Mbit/s
	LinkState VFLinkState `toml:"link_state,omitempty" json:"link_state,omitempty"`
}

// VLANProto is a VF port VLAN's tag protocol.
type VLANProto string

// Values lists the protocols.
func (VLANProto) Values() []VLANProto { return []VLANProto{"802.1Q", "802.1ad"} }

// UnmarshalText accepts only Values().
func (p *VLANProto) UnmarshalText(b []byte) error { return parseEnum(p, b, p.Values()) }

// VFLinkState is a VF's link state as its PF reports it.
type VFLinkState string

// Values lists the link states, as ip-link(8) names them.
func (VFLinkState) Values() []VFLinkState { return []VFLinkState{"auto", "enable", "disable"} }

// UnmarshalText accepts only Values().
func (s *VFLinkState) UnmarshalText(b []byte) error { return parseEnum(s, b, s.Values()) }

var (
	resourceRef = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// validate checks rule i of devices.vf alone.
func (r VFRule) validate(i int) error {
	key := func(k string) string { return fmt.Sprintf("devices.vf[%d].%s", i, k) }
	var errs []error
	switch {
	case r.PF == "" && r.Resource == "":
		errs = append(errs, keyError(fmt.Sprintf("devices.vf[%d]", i), ErrInvalid, ": a rule matches VFs by pf (the PF's netdev or PCI address), by resource (the device plugin's), or both: it has neither"))
	case r.PF == "":
	case strings.Contains(r.PF, ":"):
		if _, err := pci.ParseAddress(r.PF); err != nil {
			errs = append(errs, keyError(key("pf"), ErrInvalid, " %q: accepted values: a network interface name or a PCI address such as 0000:3b:00.0 (%v)", r.PF, err))
		}
	case len(r.PF) > 15 || strings.ContainsAny(r.PF, "/ \t") || r.PF == "." || r.PF == "..":
		errs = append(errs, keyError(key("pf"), ErrInvalid, " %q: accepted values: a network interface name or a PCI address such as 0000:3b:00.0", r.PF))
	}
	if r.Resource != "" && !resourceRef.MatchString(r.Resource) {
		errs = append(errs, keyError(key("resource"), ErrInvalid, " %q: accepted values: a device plugin resource name, such as intel.com/sriov_netdevice", r.Resource))
	}
	if r.VLAN == nil && r.VLANQoS == nil && r.VLANProto == "" && r.SpoofChk == nil && r.Trust == nil &&
		r.MinTxRate == nil && r.MaxTxRate == nil && r.LinkState == "" {
		errs = append(errs, keyError(fmt.Sprintf("devices.vf[%d]", i), ErrInvalid, ": the rule sets nothing: give it vlan, vlan_qos, vlan_proto, spoofchk, trust, min_tx_rate, max_tx_rate or link_state"))
	}
	vlan := 0
	if r.VLAN != nil {
		vlan = *r.VLAN
		errs = append(errs, inRange(key("vlan"), vlan, 0, 4094))
	}
	if r.VLANQoS != nil {
		errs = append(errs, inRange(key("vlan_qos"), *r.VLANQoS, 0, 7))
	}
	if vlan == 0 && (r.VLANQoS != nil && *r.VLANQoS != 0 || r.VLANProto == "802.1ad") {
		errs = append(errs, keyError(key("vlan"), ErrInvalid, ": vlan_qos and vlan_proto 802.1ad tag frames, which needs a VLAN ID from 1 to 4094"))
	}
	if r.VLANProto != "" {
		errs = append(errs, oneOf(key("vlan_proto"), r.VLANProto, r.VLANProto.Values()))
	}
	if r.LinkState != "" {
		errs = append(errs, oneOf(key("link_state"), r.LinkState, r.LinkState.Values()))
	}
	if r.MinTxRate != nil {
		errs = append(errs, inRange(key("min_tx_rate"), *r.MinTxRate, 0, 1<<31-1))
	}
	if r.MaxTxRate != nil {
		errs = append(errs, inRange(key("max_tx_rate"), *r.MaxTxRate, 0, 1<<31-1))
	}
	if r.MinTxRate != nil && r.MaxTxRate != nil && *r.MaxTxRate > 0 && *r.MinTxRate > *r.MaxTxRate {
		errs = append(errs, keyError(key("min_tx_rate"), ErrInvalid, " %d: above max_tx_rate %d", *r.MinTxRate, *r.MaxTxRate))
	}
	return errors.Join(errs...)
}

// validateVFRules checks every rule.
func validateVFRules(rules []VFRule) error {
	var errs []error
	for i, r := range rules {
		errs = append(errs, r.validate(i))
	}
	return errors.Join(errs...)
}
