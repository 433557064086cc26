package devicemgr

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

// allocTree is a two-socket host: PF 0000:3b:00.0 (NUMA 0) and PF
// 0000:af:00.0 (NUMA 1), each with 4 VFs alone in their IOMMU groups; a
// root port 0000:00:01.0 sharing group 1 with 0000:01:00.0 and 0000:01:00.1,
// two functions of one card (the second one in use by the host); and an
// accelerator 0000:5e:00.0 alone in group 50.
func allocTree(t *testing.T) []Function {
	t.Helper()
	tr := sysfstest.New(t)
	tr.Add(sysfstest.Function{BDF: "0000:00:01.0", Vendor: "0x8086", Device: "0x2030", Class: "0x060400", NUMANode: "0", IOMMUGroup: "1", Driver: "pcieport"})
	tr.Add(sysfstest.Function{BDF: "0000:01:00.0", Vendor: "0x8086", Device: "0x1521", Class: "0x020000", NUMANode: "0", IOMMUGroup: "1"})
	tr.Add(sysfstest.Function{BDF: "0000:01:00.1", Vendor: "0x8086", Device: "0x1521", Class: "0x020000", NUMANode: "0", IOMMUGroup: "1", Driver: "igb"})
	tr.Add(sysfstest.Function{BDF: "0000:5e:00.0", Vendor: "0x8086", Device: "0x0b25", Class: "0x088000", NUMANode: "0", IOMMUGroup: "50", Driver: "vfio-pci"})
	for i, pf := range []string{"0000:3b:00.0", "0000:af:00.0"} {
		bus := pf[5:7]
		tr.Add(sysfstest.Function{BDF: pf, Vendor: "0x8086", Device: "0x1572", Class: "0x020000",
			NUMANode: fmt.Sprint(i), Driver: "i40e", IOMMUGroup: fmt.Sprint(10 + 10*i), TotalVFs: "8", NumVFs: "4"})
		for v := range 4 {
			tr.AddVF(pf, v, sysfstest.Function{BDF: fmt.Sprintf("0000:%s:02.%d", bus, v), Vendor: "0x8086", Device: "0x154c",
				Class: "0x020000", NUMANode: fmt.Sprint(i), Driver: "vfio-pci", IOMMUGroup: fmt.Sprint(11 + 10*i + v)})
		}
	}
	fns, err := Inventory(tr.Root)
	if err != nil {
		t.Fatal(err)
	}
	return fns
}

var testPools = []Pool{
	{Name: "intel.com/sriov", PFs: []string{"0000:af:00.0", "0000:3b:00.0"}},
	{Name: "accel", BDFs: []string{"0000:5e:00.0"}},
}

func TestPlan(t *testing.T) {
	fns := allocTree(t)
	tests := []struct {
		name   string
		owners map[string]string
		reqs   Requests
		numa   []int
		want   []Assignment
	}{
		{
			name: "exact list from the device plugin",
			reqs: Requests{Exact: []ExactRequest{{Source: "PCIDEVICE_INTEL_COM_SRIOV", BDFs: []string{"0000:af:02.1", "0000:3b:02.0"}}}},
			want: []Assignment{
				{BDF: "0000:af:02.1", Source: "PCIDEVICE_INTEL_COM_SRIOV", NUMANode: 1, Group: 22},
				{BDF: "0000:3b:02.0", Source: "PCIDEVICE_INTEL_COM_SRIOV", NUMANode: 0, Group: 11},
			},
		},
		{
			name: "vfio group from linux.devices",
			reqs: Requests{Groups: []GroupRequest{{Source: "linux.devices /dev/vfio/50", Group: 50}}},
			want: []Assignment{{BDF: "0000:5e:00.0", Source: "linux.devices /dev/vfio/50", NUMANode: 0, Group: 50}},
		},
		{
			name: "pool prefers the pod's NUMA node over BDF order",
			reqs: Requests{Pools: []PoolRequest{{Source: "annotation", Pool: "intel.com/sriov", Count: 2}}},
			numa: []int{1},
			want: []Assignment{
				{BDF: "0000:af:02.0", Source: "annotation", NUMANode: 1, Group: 21},
				{BDF: "0000:af:02.1", Source: "annotation", NUMANode: 1, Group: 22},
			},
		},
		{
			name:   "pool skips taken functions and spills to the other node",
			owners: map[string]string{"0000:af:02.0": "other", "0000:af:02.1": "other", "0000:af:02.2": "other"},
			reqs:   Requests{Pools: []PoolRequest{{Source: "annotation", Pool: "intel.com/sriov", Count: 2}}},
			numa:   []int{1},
			want: []Assignment{
				{BDF: "0000:af:02.3", Source: "annotation", NUMANode: 1, Group: 24},
				{BDF: "0000:3b:02.0", Source: "annotation", NUMANode: 0, Group: 11},
			},
		},
		{
			name: "without a preference, BDF order",
			reqs: Requests{Pools: []PoolRequest{{Source: "annotation", Pool: "intel.com/sriov", Count: 1}}},
			want: []Assignment{{BDF: "0000:3b:02.0", Source: "annotation", NUMANode: 0, Group: 11}},
		},
		{
			name: "a function named twice is given once",
			reqs: Requests{
				Exact:  []ExactRequest{{Source: "PCIDEVICE_X", BDFs: []string{"0000:5e:00.0"}}, {Source: "/dev/vfio/devices/vfio0", BDFs: []string{"0000:5e:00.0"}}},
				Groups: []GroupRequest{{Source: "linux.devices /dev/vfio/50", Group: 50}},
			},
			want: []Assignment{{BDF: "0000:5e:00.0", Source: "PCIDEVICE_X", NUMANode: 0, Group: 50}},
		},
		{
			name:   "the sandbox's own functions are granted again",
			owners: map[string]string{"0000:3b:02.2": "sb1"},
			reqs:   Requests{Exact: []ExactRequest{{Source: "--device", BDFs: []string{"0000:3b:02.2"}}}},
			want:   []Assignment{{BDF: "0000:3b:02.2", Source: "--device", NUMANode: 0, Group: 13}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan(PlanInput{Sandbox: "sb1", Functions: fns, Owners: tt.owners, Pools: testPools,
				Requests: tt.reqs, PreferNUMA: tt.numa})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Plan() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanRefusals(t *testing.T) {
	fns := allocTree(t)
	tests := []struct {
		name     string
		owners   map[string]string
		reqs     Requests
		wantErr  error
		wantText []string // each must be in the message
	}{
		{
			name:     "unknown BDF",
			reqs:     Requests{Exact: []ExactRequest{{Source: "PCIDEVICE_X", BDFs: []string{"0000:3b:09.0"}}}},
			wantErr:  ErrUnknownDevice,
			wantText: []string{"0000:3b:09.0", "PCIDEVICE_X"},
		},
		{
			name:     "VF held by another sandbox",
			owners:   map[string]string{"0000:3b:02.1": "sb2"},
			reqs:     Requests{Exact: []ExactRequest{{Source: "PCIDEVICE_X", BDFs: []string{"0000:3b:02.1"}}}},
			wantErr:  ErrAllocated,
			wantText: []string{"0000:3b:02.1", "sandbox sb2"},
		},
		{
			name:     "group shared with a function another sandbox holds",
			owners:   map[string]string{"0000:01:00.1": "sb2"},
			reqs:     Requests{Exact: []ExactRequest{{Source: "--device", BDFs: []string{"0000:01:00.0"}}}},
			wantErr:  ErrAllocated,
			wantText: []string{"0000:01:00.0", "IOMMU group 1", "0000:01:00.1", "sb2"},
		},
		{
			name:     "a bridge",
			reqs:     Requests{Exact: []ExactRequest{{Source: "--device", BDFs: []string{"0000:00:01.0"}}}},
			wantErr:  ErrBadRequest,
			wantText: []string{"0000:00:01.0", "bridge"},
		},
		{
			name:     "group not on vfio-pci",
			reqs:     Requests{Groups: []GroupRequest{{Source: "linux.devices /dev/vfio/1", Group: 1}}},
			wantErr:  ErrBadRequest,
			wantText: []string{"/dev/vfio/1", "0000:01:00.0 of IOMMU group 1 is bound to no driver, not vfio-pci"},
		},
		{
			name:     "unknown group",
			reqs:     Requests{Groups: []GroupRequest{{Source: "linux.devices /dev/vfio/99", Group: 99}}},
			wantErr:  ErrUnknownDevice,
			wantText: []string{"/dev/vfio/99", "group 99"},
		},
		{
			name:     "pool too small",
			owners:   map[string]string{"0000:5e:00.0": "sb2"},
			reqs:     Requests{Pools: []PoolRequest{{Source: "annotation", Pool: "accel", Count: 1}}},
			wantErr:  ErrNoCandidate,
			wantText: []string{`pool "accel"`, "0 free"},
		},
		{
			name:     "unknown pool",
			reqs:     Requests{Pools: []PoolRequest{{Source: "annotation", Pool: "nope", Count: 1}}},
			wantErr:  ErrBadRequest,
			wantText: []string{`"nope"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(PlanInput{Sandbox: "sb1", Functions: fns, Owners: tt.owners, Pools: testPools, Requests: tt.reqs})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Plan() error = %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}
