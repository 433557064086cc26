package configs

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestVFRulesParse: [[devices.vf]] tables decode to rules, a setting left
// out stays nil, and the configuration encodes back to the same rules.
func TestVFRulesParse(t *testing.T) {
	doc := `
[devices]

[[devices.vf]]
pf = "enp59s0f0"
vlan = 100
vlan_qos = 3
spoofchk = false
trust = true
max_tx_rate = 1000

[[devices.vf]]
resource = "intel.com/sriov_dpdk"
pf = "0000:3b:00.0"
vlan = 200
vlan_proto = "802.1ad"
link_state = "enable"
min_tx_rate = 10
`
	c, err := Parse("kite.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	n := func(v int) *int { return &v }
	b := func(v bool) *bool { return &v }
	want := []VFRule{
		{PF: "enp59s0f0", VLAN: n(100), VLANQoS: n(3), SpoofChk: b(false), Trust: b(true), MaxTxRate: n(1000)},
		{PF: "0000:3b:00.0", Resource: "intel.com/sriov_dpdk", VLAN: n(200), VLANProto: "802.1ad", LinkState: "enable", MinTxRate: n(10)},
	}
	if d := cmp.Diff(want, c.Devices.VF); d != "" {
		t.Errorf("rules (-want +got):\n%s", d)
	}
	var buf bytes.Buffer
	if err := c.EncodeTOML(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Parse("encoded.toml", buf.Bytes())
	if err != nil {
		t.Fatalf("parsing the encoded configuration: %v\n%s", err, buf.String())
	}
	if d := cmp.Diff(c.Devices.VF, back.Devices.VF); d != "" {
		t.Errorf("rules after EncodeTOML (-want +got):\n%s", d)
	}
	// A clone's rules are its own slice.
	cl := c.Clone()
	cl.Devices.VF[0].PF = "other"
	if c.Devices.VF[0].PF != "enp59s0f0" {
		t.Error("Clone shares the rules")
	}
}

// A PF named by PCI address is checked as one (internal/pci): a device
// above 1f is no address, however it looks.
func TestVFRulePFAddress(t *testing.T) {
	vlan := 1
	if err := (VFRule{PF: "0000:3b:00.1", VLAN: &vlan}).validate(0); err != nil {
		t.Errorf("a PCI address: %v", err)
	}
	err := (VFRule{PF: "0000:3b:20.0", VLAN: &vlan}).validate(0)
	if err == nil || !strings.Contains(err.Error(), "devices.vf[0].pf") || !strings.Contains(err.Error(), "device 20 is above 1f") {
		t.Errorf("device 20: %v, want the pf refused saying why", err)
	}
}
