package vfio

import (
	"encoding/json"
	"errors"
	"math"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
)

func mac(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ptr[T any](v T) *T { return &v }

func TestVFSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    VFSettings
		want string // "" is valid
	}{
		{name: "empty", s: VFSettings{}},
		{name: "all", s: VFSettings{MAC: mac(t, "02:00:00:aa:bb:cc"), VLAN: &VLAN{ID: 100, QoS: 3, Proto: VLAN8021AD},
			Rate: &Rate{MinMbps: 10, MaxMbps: 100}, SpoofChk: ptr(false), Trust: ptr(true), LinkState: LinkDisable}},
		{name: "VLAN 4094", s: VFSettings{VLAN: &VLAN{ID: 4094}}},
		{name: "untagged", s: VFSettings{VLAN: &VLAN{}}},
		{name: "max rate only", s: VFSettings{Rate: &Rate{MaxMbps: 100}}},
		{name: "min rate only", s: VFSettings{Rate: &Rate{MinMbps: 100}}},
		{name: "multicast MAC", s: VFSettings{MAC: mac(t, "01:00:5e:00:00:01")}, want: "MAC 01:00:5e:00:00:01 is a multicast address"},
		{name: "zero MAC", s: VFSettings{MAC: mac(t, "00:00:00:00:00:00")}, want: "is all zeros"},
		{name: "long MAC", s: VFSettings{MAC: mac(t, "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01")}, want: "not a 6-byte"},
		{name: "VLAN 4095", s: VFSettings{VLAN: &VLAN{ID: 4095}}, want: "VLAN 4095 is outside 0..4094"},
		{name: "VLAN negative", s: VFSettings{VLAN: &VLAN{ID: -1}}, want: "VLAN -1"},
		{name: "QoS 8", s: VFSettings{VLAN: &VLAN{ID: 10, QoS: 8}}, want: "VLAN QoS 8 is outside 0..7"},
		{name: "QoS untagged", s: VFSettings{VLAN: &VLAN{QoS: 2}}, want: "a VLAN QoS or protocol needs a VLAN ID"},
		{name: "802.1ad untagged", s: VFSettings{VLAN: &VLAN{Proto: VLAN8021AD}}, want: "needs a VLAN ID"},
		{name: "bad proto", s: VFSettings{VLAN: &VLAN{ID: 5, Proto: "802.1x"}}, want: `VLAN protocol "802.1x"`},
		{name: "min above max", s: VFSettings{Rate: &Rate{MinMbps: 200, MaxMbps: 100}}, want: "min tx rate 200 Mbit/s is above max tx rate 100"},
		{name: "negative rate", s: VFSettings{Rate: &Rate{MaxMbps: -1}}, want: "negative"},
		{name: "bad link state", s: VFSettings{LinkState: "up"}, want: `link state "up"`},
		{name: "two problems", s: VFSettings{VLAN: &VLAN{ID: 5000}, LinkState: "up"}, want: "VLAN 5000 is outside 0..4094; link state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrBadVFConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v, want ErrBadVFConfig containing %q", err, tc.want)
			}
		})
	}
}

// TestPlanVFChange: only what differs is set; the undo holds exactly the
// values it replaces; an admin MAC the PF held none of is not put back.
func TestPlanVFChange(t *testing.T) {
	cur := VFSettings{MAC: mac(t, "00:00:00:00:00:00"), VLAN: &VLAN{Proto: VLAN8021Q}, Rate: &Rate{},
		SpoofChk: ptr(true), Trust: ptr(false), LinkState: LinkAuto}
	podMAC := mac(t, "02:4b:69:74:65:01")
	for _, tc := range []struct {
		name      string
		cur, want VFSettings
		set, undo VFSettings
	}{
		{name: "nothing asked", cur: cur},
		{name: "all as asked already", cur: cur, want: VFSettings{VLAN: &VLAN{}, Rate: &Rate{}, SpoofChk: ptr(true), Trust: ptr(false), LinkState: LinkAuto}},
		{name: "MAC over none", cur: cur, want: VFSettings{MAC: podMAC}, set: VFSettings{MAC: podMAC}},
		{name: "MAC over another", cur: VFSettings{MAC: mac(t, "02:00:00:00:00:09")}, want: VFSettings{MAC: podMAC},
			set: VFSettings{MAC: podMAC}, undo: VFSettings{MAC: mac(t, "02:00:00:00:00:09")}},
		{name: "VLAN, QoS defaulted proto", cur: cur, want: VFSettings{VLAN: &VLAN{ID: 100, QoS: 3}},
			set: VFSettings{VLAN: &VLAN{ID: 100, QoS: 3, Proto: VLAN8021Q}}, undo: VFSettings{VLAN: &VLAN{Proto: VLAN8021Q}}},
		{name: "only the proto differs", cur: VFSettings{VLAN: &VLAN{ID: 7, Proto: VLAN8021Q}}, want: VFSettings{VLAN: &VLAN{ID: 7, Proto: VLAN8021AD}},
			set: VFSettings{VLAN: &VLAN{ID: 7, Proto: VLAN8021AD}}, undo: VFSettings{VLAN: &VLAN{ID: 7, Proto: VLAN8021Q}}},
		{name: "rate", cur: cur, want: VFSettings{Rate: &Rate{MaxMbps: 100}}, set: VFSettings{Rate: &Rate{MaxMbps: 100}}, undo: VFSettings{Rate: &Rate{}}},
		{name: "bools and state", cur: cur, want: VFSettings{SpoofChk: ptr(false), Trust: ptr(true), LinkState: LinkDisable},
			set:  VFSettings{SpoofChk: ptr(false), Trust: ptr(true), LinkState: LinkDisable},
			undo: VFSettings{SpoofChk: ptr(true), Trust: ptr(false), LinkState: LinkAuto}},
		{name: "trust the driver lacks", cur: VFSettings{}, want: VFSettings{Trust: ptr(true)}, set: VFSettings{Trust: ptr(true)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, undo := PlanVFChange(tc.cur, tc.want)
			if d := cmp.Diff(tc.set, set); d != "" {
				t.Errorf("set (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.undo, undo); d != "" {
				t.Errorf("undo (-want +got):\n%s", d)
			}
		})
	}
}

func TestSettingsOf(t *testing.T) {
	got := settingsOf(netlink.VfInfo{ID: 1, Mac: mac(t, "02:00:00:00:00:01"), Vlan: 100, Qos: 2, VlanProto: 0x88a8,
		TxRate: 50, Spoofchk: false, LinkState: 2, Trust: math.MaxUint32})
	want := VFSettings{MAC: mac(t, "02:00:00:00:00:01"), VLAN: &VLAN{ID: 100, QoS: 2, Proto: VLAN8021AD},
		Rate: &Rate{MaxMbps: 50}, SpoofChk: ptr(false), LinkState: LinkDisable}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("settingsOf (-want +got):\n%s", d)
	}
	got = settingsOf(netlink.VfInfo{Spoofchk: true, Trust: 1, MinTxRate: 10, MaxTxRate: 90, TxRate: 90})
	if got.Trust == nil || !*got.Trust || got.VLAN.Proto != VLAN8021Q || *got.Rate != (Rate{MinMbps: 10, MaxMbps: 90}) || got.LinkState != LinkAuto {
		t.Errorf("settingsOf = %+v (VLAN %+v, rate %+v)", got, got.VLAN, got.Rate)
	}
}

// TestVFChangeJSON: a crash record reads back the change it wrote.
func TestVFChangeJSON(t *testing.T) {
	c := VFChange{PFNetdev: "enp6s0", Index: 3,
		Set:  VFSettings{MAC: mac(t, "02:4b:69:74:65:01"), VLAN: &VLAN{ID: 100, Proto: VLAN8021Q}, Trust: ptr(true)},
		Undo: VFSettings{VLAN: &VLAN{Proto: VLAN8021Q}, Trust: ptr(false)}}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"mac":"02:4b:69:74:65:01"`) {
		t.Errorf("JSON %s does not have the MAC as text", b)
	}
	var back VFChange
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(c, back); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if err := json.Unmarshal([]byte(`{"set":{"mac":"nope"}}`), &back); err == nil {
		t.Error("a bad MAC in a record was accepted")
	}
}

func TestVFSettingsString(t *testing.T) {
	s := VFSettings{MAC: mac(t, "02:00:00:00:00:01"), VLAN: &VLAN{ID: 100, QoS: 3, Proto: VLAN8021AD}, Rate: &Rate{MaxMbps: 100},
		SpoofChk: ptr(false), Trust: ptr(true), LinkState: LinkEnable}
	want := "mac 02:00:00:00:00:01 vlan 100 qos 3 proto 802.1ad min_tx_rate 0 max_tx_rate 100 spoofchk off trust on state enable"
	if got := s.String(); got != want {
		t.Errorf("String = %q\nwant %q", got, want)
	}
}
