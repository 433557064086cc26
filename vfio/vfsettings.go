package vfio

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
)

// VFSettings is the admin state a PF holds for one of its VFs, set through
// the PF's netdev (`ip link set PF vf N ...`): what the VF gets whoever
// drives it, a guest's driver included, and what the VF cannot change from
// inside. A nil or empty field leaves that setting as it is.
type VFSettings struct {
	// MAC is the VF's admin MAC: the address its driver comes up with (an
	// igb PF also refuses a VF driver's own change of it).
	MAC net.HardwareAddr
	// VLAN tags the VF's traffic on the wire (port VLAN); ID 0 is untagged.
	VLAN *VLAN
	// Rate limits the VF's transmit rate.
	Rate *Rate
	// SpoofChk drops frames the VF sends from another source MAC or VLAN.
	SpoofChk *bool
	// Trust lets the VF change its own MAC and enter promiscuous mode.
	Trust *bool
	// LinkState is the VF's link as its driver sees it.
	LinkState LinkState
}

// VLAN is a VF's port VLAN: its ID, priority (QoS) and protocol, which the
// kernel takes as one attribute.
type VLAN struct {
	ID    int       `json:"id"`
	QoS   int       `json:"qos,omitempty"`
	Proto VLANProto `json:"proto,omitempty"`
}

// VLANProto is a port VLAN's tag protocol.
type VLANProto string

// VLAN protocols; "" is 802.1Q.
const (
	VLAN8021Q  VLANProto = "802.1Q"
	VLAN8021AD VLANProto = "802.1ad"
)

// ethertype is the protocol's Ethernet type, as netlink takes it.
func (p VLANProto) ethertype() int {
	if p == VLAN8021AD {
		return 0x88a8
	}
	return 0x8100
}

func (p VLANProto) orDefault() VLANProto {
	if p == "" {
		return VLAN8021Q
	}
	return p
}

// Rate is a VF's transmit rate range in Mbit/s; 0 is no limit.
type Rate struct {
	MinMbps int `json:"minMbps,omitempty"`
	MaxMbps int `json:"maxMbps,omitempty"`
}

// LinkState is a VF's link state as the PF reports it to the VF.
type LinkState string

// Link states, as ip-link(8) names them.
const (
	// LinkAuto follows the PF's link.
	LinkAuto    LinkState = "auto"
	LinkEnable  LinkState = "enable"
	LinkDisable LinkState = "disable"
)

// Values lists the link states.
func (LinkState) Values() []LinkState { return []LinkState{LinkAuto, LinkEnable, LinkDisable} }

// ifla is the state's IFLA_VF_LINK_STATE value.
func (s LinkState) ifla() uint32 {
	return uint32(slices.Index(s.Values(), s))
}

// maxVLAN is the highest usable 802.1Q VLAN ID (4095 is reserved).
const maxVLAN = 4094

// IsZero reports settings that change nothing.
func (s VFSettings) IsZero() bool {
	return s.MAC == nil && s.VLAN == nil && s.Rate == nil && s.SpoofChk == nil && s.Trust == nil && s.LinkState == ""
}

// Validate checks the settings without touching the host.
func (s VFSettings) Validate() error {
	var problems []string
	if s.MAC != nil {
		switch {
		case len(s.MAC) != 6:
			problems = append(problems, fmt.Sprintf("MAC %s is not a 6-byte Ethernet address", s.MAC))
		case s.MAC[0]&1 == 1:
			problems = append(problems, fmt.Sprintf("MAC %s is a multicast address", s.MAC))
		case isZero(s.MAC):
			problems = append(problems, fmt.Sprintf("MAC %s is all zeros", s.MAC))
		}
	}
	if v := s.VLAN; v != nil {
		if v.ID < 0 || v.ID > maxVLAN {
			problems = append(problems, fmt.Sprintf("VLAN %d is outside 0..%d", v.ID, maxVLAN))
		}
		if v.QoS < 0 || v.QoS > 7 {
			problems = append(problems, fmt.Sprintf("VLAN QoS %d is outside 0..7", v.QoS))
		}
		if v.Proto != "" && v.Proto != VLAN8021Q && v.Proto != VLAN8021AD {
			problems = append(problems, fmt.Sprintf("VLAN protocol %q is neither %s nor %s", v.Proto, VLAN8021Q, VLAN8021AD))
		}
		if v.ID == 0 && (v.QoS != 0 || v.Proto.orDefault() != VLAN8021Q) {
			problems = append(problems, "a VLAN QoS or protocol needs a VLAN ID")
		}
	}
	if r := s.Rate; r != nil {
		if r.MinMbps < 0 || r.MaxMbps < 0 {
			problems = append(problems, fmt.Sprintf("tx rate %d..%d Mbit/s is negative", r.MinMbps, r.MaxMbps))
		} else if r.MaxMbps > 0 && r.MinMbps > r.MaxMbps {
			problems = append(problems, fmt.Sprintf("min tx rate %d Mbit/s is above max tx rate %d", r.MinMbps, r.MaxMbps))
		}
	}
	if s.LinkState != "" && !slices.Contains(s.LinkState.Values(), s.LinkState) {
		problems = append(problems, fmt.Sprintf("link state %q is none of auto, enable, disable", s.LinkState))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrBadVFConfig, strings.Join(problems, "; "))
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

// String says what the settings set, as ip-link(8) would.
func (s VFSettings) String() string {
	var parts []string
	for _, st := range s.steps() {
		parts = append(parts, st.what)
	}
	return strings.Join(parts, " ")
}

// vfSettingsJSON is VFSettings on disk, the MAC as text.
type vfSettingsJSON struct {
	MAC       string    `json:"mac,omitempty"`
	VLAN      *VLAN     `json:"vlan,omitempty"`
	Rate      *Rate     `json:"rate,omitempty"`
	SpoofChk  *bool     `json:"spoofchk,omitempty"`
	Trust     *bool     `json:"trust,omitempty"`
	LinkState LinkState `json:"linkState,omitempty"`
}

// MarshalJSON writes the MAC as text.
func (s VFSettings) MarshalJSON() ([]byte, error) {
	j := vfSettingsJSON{VLAN: s.VLAN, Rate: s.Rate, SpoofChk: s.SpoofChk, Trust: s.Trust, LinkState: s.LinkState}
	if s.MAC != nil {
		j.MAC = s.MAC.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *VFSettings) UnmarshalJSON(b []byte) error {
	var j vfSettingsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = VFSettings{VLAN: j.VLAN, Rate: j.Rate, SpoofChk: j.SpoofChk, Trust: j.Trust, LinkState: j.LinkState}
	if j.MAC != "" {
		mac, err := net.ParseMAC(j.MAC)
		if err != nil {
			return fmt.Errorf("VF settings: %w", err)
		}
		s.MAC = mac
	}
	return nil
}
