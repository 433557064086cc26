package kernel

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustParse(t *testing.T, name, text string) Fragment {
	t.Helper()
	f, err := ParseFragment(name, []byte(text))
	if err != nil {
		t.Fatalf("ParseFragment(%s) error = %v", name, err)
	}
	return f
}

func TestParseFragment(t *testing.T) {
	f := mustParse(t, "a.config", "# a comment\n\nCONFIG_A=y\n# CONFIG_B is not set\n  CONFIG_C=\"-kite\"\nCONFIG_D=256\nCONFIG_E=m\n")
	want := []Setting{
		{Symbol: "CONFIG_A", Value: "y", Line: 3},
		{Symbol: "CONFIG_B", Value: "n", Line: 4},
		{Symbol: "CONFIG_C", Value: `"-kite"`, Line: 5},
		{Symbol: "CONFIG_D", Value: "256", Line: 6},
		{Symbol: "CONFIG_E", Value: "m", Line: 7},
	}
	if diff := cmp.Diff(want, f.Settings); diff != "" {
		t.Errorf("settings mismatch (-want +got):\n%s", diff)
	}
	if v, ok := f.Lookup("CONFIG_B"); !ok || v != "n" {
		t.Errorf("Lookup(CONFIG_B) = %q, %v", v, ok)
	}
}

func TestParseFragmentErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"not a setting", "CONFIG_A=y\nA=y\n", `:2: "A=y"`},
		{"no value", "CONFIG_A=\n", "CONFIG_A has no value"},
		{"twice", "CONFIG_A=y\n# CONFIG_A is not set\n", "already set on line 1"},
		{"lowercase prefix", "config_a=y\n", "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFragment("x.config", []byte(tt.text))
			if !errors.Is(err, ErrFragment) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %v containing %q", err, ErrFragment, tt.want)
			}
		})
	}
}

func TestMergeLaterWins(t *testing.T) {
	kite := mustParse(t, "kite.config", "CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\n")
	extra := mustParse(t, "extra.config", "CONFIG_B=m\nCONFIG_C=y\nCONFIG_A=y\nCONFIG_D=m\n")
	r := Merge(kite, extra)
	want := []Setting{
		{Symbol: "CONFIG_A", Value: "y", Line: 3},
		{Symbol: "CONFIG_B", Value: "m", Line: 1},
		{Symbol: "CONFIG_C", Value: "y", Line: 2},
		{Symbol: "CONFIG_D", Value: "m", Line: 4},
	}
	if diff := cmp.Diff(want, r.Settings); diff != "" {
		t.Errorf("merged settings (-want +got):\n%s", diff)
	}
	wantOver := []Override{
		{Symbol: "CONFIG_B", Old: "y", New: "m", From: "kite.config", By: "extra.config"},
		{Symbol: "CONFIG_C", Old: "n", New: "y", From: "kite.config", By: "extra.config"},
	}
	if diff := cmp.Diff(wantOver, r.Overrides); diff != "" {
		t.Errorf("overrides (-want +got):\n%s", diff)
	}
	if r.Origin["CONFIG_A"] != "extra.config" || r.Origin["CONFIG_D"] != "extra.config" {
		t.Errorf("origins = %v", r.Origin)
	}
}

func TestCheckFindsDroppedValues(t *testing.T) {
	r := Merge(mustParse(t, "kite.config", "CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=y\nCONFIG_E=\"x\"\n"))
	dotconfig := "#\n# Automatically generated file; DO NOT EDIT.\nCONFIG_A=y\nCONFIG_B=y\n# CONFIG_D is not set\nCONFIG_E=\"x\"\nCONFIG_F=y\n"
	want := []Mismatch{
		{Symbol: "CONFIG_B", Want: "m", Got: "y", From: "kite.config"},
		{Symbol: "CONFIG_D", Want: "y", Got: "n", From: "kite.config"},
	}
	if diff := cmp.Diff(want, r.Check([]byte(dotconfig))); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
	if got := want[1].String(); got != "CONFIG_D=y (from kite.config) became n" {
		t.Errorf("Mismatch.String() = %q", got)
	}
	// A symbol asked to be off and absent from .config is fine (CONFIG_C).
}

// TestKiteFragment pins what the embedded fragment must keep: each line is
// a promise the guest (agent, devices, tests) relies on.
func TestKiteFragment(t *testing.T) {
	f := KiteFragment()
	if f.Name != KiteFragmentName || len(f.Settings) < 100 {
		t.Fatalf("KiteFragment() = %s with %d settings", f.Name, len(f.Settings))
	}
	must := map[string]string{
		"CONFIG_64BIT": "y", "CONFIG_PVH": "y", "CONFIG_KVM_GUEST": "y", "CONFIG_MODULES": "y",
		"CONFIG_CRYPTO_MANAGER_DISABLE_TESTS": "y", "CONFIG_SERIAL_8250_CONSOLE": "y",
		"CONFIG_VIRTIO_PCI": "y", "CONFIG_VIRTIO_PCI_LEGACY": "n", "CONFIG_HOTPLUG_PCI_PCIE": "y", "CONFIG_HOTPLUG_PCI_ACPI": "y",
		"CONFIG_VIRTIO_NET": "y", "CONFIG_VIRTIO_BLK": "y", "CONFIG_VIRTIO_CONSOLE": "y", "CONFIG_VIRTIO_FS": "y",
		"CONFIG_9P_FS": "y", "CONFIG_NET_9P_VIRTIO": "y", "CONFIG_VIRTIO_VSOCKETS": "y", "CONFIG_HW_RANDOM_VIRTIO": "y",
		"CONFIG_VIRTIO_BALLOON": "y", "CONFIG_PAGE_REPORTING": "y",
		"CONFIG_ZONE_DEVICE": "y", "CONFIG_FS_DAX": "y", "CONFIG_NVDIMM_PFN": "y", "CONFIG_BLK_DEV_PMEM": "y", "CONFIG_ACPI_NFIT": "y",
		"CONFIG_EXT4_FS": "y", "CONFIG_OVERLAY_FS": "y", "CONFIG_HUGETLBFS": "y", "CONFIG_FUSE_FS": "y",
		"CONFIG_VFIO_PCI": "y", "CONFIG_INTEL_IOMMU": "y", "CONFIG_IRQ_REMAP": "y",
		"CONFIG_CGROUP_BPF": "y", "CONFIG_MEMCG": "y", "CONFIG_CPUSETS": "y", "CONFIG_CGROUP_PIDS": "y", "CONFIG_BLK_CGROUP": "y",
		"CONFIG_USER_NS": "y", "CONFIG_PID_NS": "y", "CONFIG_NET_NS": "y", "CONFIG_SECCOMP_FILTER": "y",
		"CONFIG_TUN": "y", "CONFIG_VETH": "y", "CONFIG_BRIDGE": "y", "CONFIG_NFT_COMPAT": "y",
		"CONFIG_IGBVF": "y", "CONFIG_IXGBEVF": "y", "CONFIG_I40EVF": "y", "CONFIG_E1000E": "y", "CONFIG_IGB": "y", "CONFIG_BLK_DEV_NVME": "y",
		"CONFIG_NET_VRF": "m",
	}
	for sym, want := range must {
		if got, ok := f.Lookup(sym); !ok || got != want {
			t.Errorf("kite.config: %s = %q (set %v), want %q", sym, got, ok, want)
		}
	}
	if diff := cmp.Diff(f.Settings, Merge(f).Settings, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("merging the fragment alone changed it (-fragment +merged):\n%s", diff)
	}
}
