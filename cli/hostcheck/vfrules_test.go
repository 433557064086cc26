package hostcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each devices.vf rule's PF must be on the host with SR-IOV and a netdev;
// one that is not is a warning naming the rule and why, not a failure.
func TestProbeVFRules(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		"/sys/bus/pci/devices/0000:3b:00.0/sriov_totalvfs":  "64\n",
		"/sys/bus/pci/devices/0000:3b:00.0/net/enp59s0f0/x": "",
		"/sys/bus/pci/devices/0000:5e:00.0/sriov_totalvfs":  "4\n", // an NVMe PF: no netdev
		"/sys/bus/pci/devices/0000:02:00.0/net/enp2s0/x":    "",    // a NIC without SR-IOV
		"/sys/class/net/lo/x":                               "",
	})
	for name, dev := range map[string]string{"enp59s0f0": "0000:3b:00.0", "enp2s0": "0000:02:00.0"} {
		dir := filepath.Join(root, "sys/class/net", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(root, "sys/bus/pci/devices", dev), filepath.Join(dir, "device")); err != nil {
			t.Fatal(err)
		}
	}
	run := func(rules ...VFRulePF) Result {
		return probeVFRules(context.Background(), Options{Root: root, VFRules: rules})
	}
	if r := run(); r.Status != OK || r.Detail != "no [[devices.vf]] rules" {
		t.Errorf("no rules: %+v", r)
	}
	if r := run(VFRulePF{"devices.vf[0]", "enp59s0f0"}, VFRulePF{"devices.vf[1]", "0000:3b:00.0"}, VFRulePF{"devices.vf[2]", ""}); r.Status != OK {
		t.Errorf("rules on a present PF: %+v, want ok", r)
	}
	r := run(VFRulePF{"devices.vf[0]", "enp59s0f0"}, VFRulePF{"devices.vf[1]", "enp1s0"}, VFRulePF{"devices.vf[2]", "lo"},
		VFRulePF{"devices.vf[3]", "0000:5e:00.0"}, VFRulePF{"devices.vf[4]", "0000:99:00.0"}, VFRulePF{"devices.vf[5]", "enp2s0"})
	if r.Status != Warn || r.Hint == "" {
		t.Errorf("rules on missing PFs: %+v, want a warning with a hint", r)
	}
	for _, want := range []string{
		"devices.vf[1]: no PCI network interface enp1s0 on this host",
		"devices.vf[2]: no PCI network interface lo",
		"devices.vf[3]: 0000:5e:00.0 has no network interface to set VF settings through",
		"devices.vf[4]: no PCI function 0000:99:00.0 on this host",
		"devices.vf[5]: enp2s0 has no SR-IOV",
	} {
		if !strings.Contains(r.Detail, want) {
			t.Errorf("detail %q lacks %q", r.Detail, want)
		}
	}
	if strings.Contains(r.Detail, "devices.vf[0]") {
		t.Errorf("detail %q names the rule whose PF is fine", r.Detail)
	}
}
