package devicemgr

import (
	"fmt"
	"strings"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/vfio"
)

// VFSettingsFor returns the settings of the first devices.vf rule that
// matches the VF, with the rule's name for errors ("devices.vf[1]"); zero
// settings and "" when none does. source is the request the function was
// assigned under (Assignment.Source): a rule with a resource matches only
// a function the device plugin assigned under that resource.
func VFSettingsFor(rules []configs.VFRule, vf vfio.VF, source string) (vfio.VFSettings, string) {
	for i, r := range rules {
		if r.PF != "" && r.PF != vf.PFNetdev && r.PF != vf.PF {
			continue
		}
		if r.Resource != "" && !FromResource(source, r.Resource) {
			continue
		}
		return vfSettingsOf(r), fmt.Sprintf("devices.vf[%d]", i)
	}
	return vfio.VFSettings{}, ""
}

// FromResource reports whether a request source names the device plugin
// resource: its PCIDEVICE_<RESOURCE> variable, or a PodResources answer
// for it.
func FromResource(source, resource string) bool {
	if env, ok := strings.CutPrefix(source, PCIDeviceEnvPrefix); ok {
		return env == envName(resource)
	}
	if rest, ok := strings.CutPrefix(source, PodResourcesSource); ok {
		return strings.HasSuffix(rest, " "+resource)
	}
	return false
}

// PodResourcesSource starts the source of a request the kubelet's
// PodResources API answered: "PodResources <container> <resource>".
const PodResourcesSource = "PodResources "

// envName is a resource's part of its PCIDEVICE_ variable, as device
// plugins write it: upper case, every character that is no letter or
// digit an underscore ("intel.com/sriov_a" is INTEL_COM_SRIOV_A).
func envName(resource string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, resource)
}

// vfSettingsOf is a rule's settings: a VLAN field set sets the whole port
// VLAN (an ID or QoS left out is 0, the protocol 802.1Q), a rate set sets
// both ends (one left out is 0, no limit).
func vfSettingsOf(r configs.VFRule) vfio.VFSettings {
	s := vfio.VFSettings{SpoofChk: r.SpoofChk, Trust: r.Trust, LinkState: vfio.LinkState(r.LinkState)}
	if r.VLAN != nil || r.VLANQoS != nil || r.VLANProto != "" {
		s.VLAN = &vfio.VLAN{ID: deref(r.VLAN), QoS: deref(r.VLANQoS), Proto: vfio.VLANProto(r.VLANProto)}
	}
	if r.MinTxRate != nil || r.MaxTxRate != nil {
		s.Rate = &vfio.Rate{MinMbps: deref(r.MinTxRate), MaxMbps: deref(r.MaxTxRate)}
	}
	return s
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
