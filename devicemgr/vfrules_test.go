package devicemgr

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
	"github.com/kite-vm/kite/vfio"
)

func TestFromResource(t *testing.T) {
	for _, tc := range []struct {
		source, resource string
		want             bool
	}{
		{"PCIDEVICE_INTEL_COM_SRIOV_A", "intel.com/sriov_a", true},
		{"PCIDEVICE_INTEL_COM_SRIOV_A", "intel.com/sriov-a", true}, // '-' becomes '_' too
		{"PCIDEVICE_INTEL_COM_SRIOV_A", "intel.com/sriov_b", false},
		{"PCIDEVICE_INTEL_COM_SRIOV_AB", "intel.com/sriov_a", false},
		{"PodResources app intel.com/sriov_a", "intel.com/sriov_a", true},
		{"PodResources app intel.com/sriov_ab", "intel.com/sriov_a", false},
		{"linux.devices[0] /dev/vfio/12", "intel.com/sriov_a", false},
		{"", "intel.com/sriov_a", false},
	} {
		if got := FromResource(tc.source, tc.resource); got != tc.want {
			t.Errorf("FromResource(%q, %q) = %t, want %t", tc.source, tc.resource, got, tc.want)
		}
	}
}

// TestVFSettingsFor: the first rule whose PF (netdev or address) and
// resource both match gives its settings, a VLAN or rate part left out
// as 0; no rule, nothing.
func TestVFSettingsFor(t *testing.T) {
	n := func(v int) *int { return &v }
	on := true
	rules := []configs.VFRule{
		{PF: "enp1s0", Resource: "intel.com/dpdk", VLAN: n(10)},
		{PF: "0000:01:00.0", VLANQoS: n(3), VLAN: n(20), MaxTxRate: n(100), Trust: &on},
		{Resource: "intel.com/net", VLANProto: "802.1ad", VLAN: n(30), LinkState: "disable", MinTxRate: n(5)},
	}
	vf := vfio.VF{PF: "0000:01:00.0", PFNetdev: "enp1s0", Index: 2}
	other := vfio.VF{PF: "0000:02:00.0", PFNetdev: "enp2s0", Index: 0}
	for _, tc := range []struct {
		name   string
		vf     vfio.VF
		source string
		want   vfio.VFSettings
		rule   string
	}{
		{"pf netdev and resource", vf, "PCIDEVICE_INTEL_COM_DPDK", vfio.VFSettings{VLAN: &vfio.VLAN{ID: 10}}, "devices.vf[0]"},
		{"pf address, any resource", vf, "PCIDEVICE_INTEL_COM_NET", vfio.VFSettings{VLAN: &vfio.VLAN{ID: 20, QoS: 3}, Rate: &vfio.Rate{MaxMbps: 100}, Trust: &on}, "devices.vf[1]"},
		{"no resource", vf, "", vfio.VFSettings{VLAN: &vfio.VLAN{ID: 20, QoS: 3}, Rate: &vfio.Rate{MaxMbps: 100}, Trust: &on}, "devices.vf[1]"},
		{"resource only", other, "PodResources c intel.com/net", vfio.VFSettings{VLAN: &vfio.VLAN{ID: 30, Proto: vfio.VLAN8021AD}, Rate: &vfio.Rate{MinMbps: 5}, LinkState: vfio.LinkDisable}, "devices.vf[2]"},
		{"nothing matches", other, "PCIDEVICE_INTEL_COM_DPDK", vfio.VFSettings{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, rule := VFSettingsFor(rules, tc.vf, tc.source)
			if d := cmp.Diff(tc.want, got); d != "" || rule != tc.rule {
				t.Errorf("rule %q, want %q; settings (-want +got):\n%s", rule, tc.rule, d)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("the settings of a valid rule do not validate: %v", err)
			}
		})
	}
}

// TestVFIOFunctionVFNotAVF: settings for a function that is no VF of a PF
// with a netdev here (a VF whose PF has none, a PF) fail its attach naming
// the rule, the function and why, before anything is bound.
func TestVFIOFunctionVFNotAVF(t *testing.T) {
	tree := sysfstest.New(t)
	tree.Add(sysfstest.Function{BDF: "0000:02:00.0", IOMMUGroup: "6"})
	tree.AddVF("0000:02:00.0", 2, sysfstest.Function{BDF: "0000:02:10.2", IOMMUGroup: "7"})
	on := true
	for _, bdf := range []string{"0000:02:10.2", "0000:02:00.0"} {
		fn := &VFIOFunction{ID: "pci0", BDF: bdf, SysfsRoot: tree.Root, VF: vfio.VFSettings{Trust: &on}, VFRule: "devices.vf[3]"}
		var host cleanup.Stack
		_, err := fn.Attach(context.Background(), &host)
		if !errors.Is(err, vfio.ErrNotVF) || !strings.Contains(err.Error(), "devices.vf[3] asks "+bdf+" for trust on") {
			t.Errorf("attach of %s = %v, want ErrNotVF naming the rule, the function and the setting", bdf, err)
		}
		if host.Len() != 0 {
			t.Errorf("%s: %d undo steps after the refusal, want none", bdf, host.Len())
		}
	}
}
