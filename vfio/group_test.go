package vfio

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

// groupTree: PF 0000:3b:00.0 (ixgbe) in IOMMU group pfGroup, its VF
// 0000:3b:02.1 (unbound) in group 42, and the members a case adds.
func groupTree(t *testing.T, pfGroup string, members ...sysfstest.Function) *sysfstest.Tree {
	t.Helper()
	tree := sysfstest.New(t)
	tree.Add(sysfstest.Function{BDF: "0000:3b:00.0", Class: "0x020000", Driver: "ixgbe", IOMMUGroup: pfGroup, TotalVFs: "8", NumVFs: "2"})
	tree.AddVF("0000:3b:00.0", 1, sysfstest.Function{BDF: "0000:3b:02.1", Class: "0x020000", IOMMUGroup: "42"})
	for _, m := range members {
		tree.Add(m)
	}
	return tree
}

func TestGroupOf(t *testing.T) {
	tree := groupTree(t, "7",
		sysfstest.Function{BDF: "0000:3a:00.0", Class: "0x060400", Driver: "pcieport", IOMMUGroup: "42"},
		sysfstest.Function{BDF: "0000:3c:00.0", Class: "0x010802", Driver: "nvme", IOMMUGroup: "42"},
		sysfstest.Function{BDF: "0000:5e:00.0", Class: "0x010802", Driver: "nvme"},
	)
	tests := []struct {
		bdf     string
		want    Group
		wantErr error
	}{
		{bdf: "0000:3b:02.1", want: Group{Number: 42, Members: []string{"0000:3a:00.0", "0000:3b:02.1", "0000:3c:00.0"}}},
		{bdf: "0000:3b:00.0", want: Group{Number: 7, Members: []string{"0000:3b:00.0"}}},
		{bdf: "0000:5e:00.0", wantErr: ErrNoIOMMU},
		{bdf: "0000:99:00.0", wantErr: ErrNoDevice},
		{bdf: "3b:02.1", wantErr: ErrBadBDF},
		{bdf: "0000:3B:02.1", wantErr: ErrBadBDF},
	}
	for _, tc := range tests {
		t.Run(tc.bdf, func(t *testing.T) {
			got, err := GroupOf(tree.Root, tc.bdf)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("GroupOf(%s) error = %v, want %v", tc.bdf, err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("GroupOf(%s) (-want +got):\n%s", tc.bdf, diff)
			}
		})
	}
}

func TestGroupOfNoIOMMUHint(t *testing.T) {
	tree := groupTree(t, "7", sysfstest.Function{BDF: "0000:5e:00.0", Class: "0x010802"})
	_, err := GroupOf(tree.Root, "0000:5e:00.0")
	if err == nil || !strings.Contains(err.Error(), "intel_iommu=on iommu=pt") || !strings.Contains(err.Error(), "0000:5e:00.0") {
		t.Errorf("GroupOf error = %v, want it to name the device and hint intel_iommu=on iommu=pt", err)
	}
}

func TestCheckViable(t *testing.T) {
	const vf = "0000:3b:02.1"
	tests := []struct {
		name    string
		pfGroup string // default "7"
		members []sysfstest.Function
		bdf     string
		wantMsg string // "" for viable
		wantErr error
	}{
		{name: "alone", bdf: vf},
		{name: "bridge in group", bdf: vf, members: []sysfstest.Function{
			{BDF: "0000:3a:00.0", Class: "0x060400", Driver: "pcieport", IOMMUGroup: "42"}}},
		{name: "unbound and vfio-pci members", bdf: vf, members: []sysfstest.Function{
			{BDF: "0000:3b:02.2", Class: "0x020000", IOMMUGroup: "42"},
			{BDF: "0000:3b:02.3", Class: "0x020000", Driver: "vfio-pci", IOMMUGroup: "42"}}},
		{name: "member in use", bdf: vf, pfGroup: "42",
			wantErr: ErrNotViable,
			wantMsg: "VF 0000:3b:02.1 is in IOMMU group 42 with 0000:3b:00.0 (ixgbe, in use by the host): refusing to pass it through"},
		{name: "two in use, not a VF", bdf: "0000:3c:00.0", members: []sysfstest.Function{
			{BDF: "0000:3b:02.2", Class: "0x020000", Driver: "ixgbevf", IOMMUGroup: "42"},
			{BDF: "0000:3c:00.0", Class: "0x010802", IOMMUGroup: "42"},
			{BDF: "0000:3d:00.0", Class: "0x010802", Driver: "nvme", IOMMUGroup: "42"}},
			wantErr: ErrNotViable,
			wantMsg: "PCI function 0000:3c:00.0 is in IOMMU group 42 with 0000:3b:02.2 (ixgbevf, in use by the host) and 0000:3d:00.0 (nvme, in use by the host): refusing to pass it through"},
		{name: "no group", bdf: "0000:5e:00.0", members: []sysfstest.Function{{BDF: "0000:5e:00.0", Class: "0x010802"}},
			wantErr: ErrNoIOMMU},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.pfGroup == "" {
				tc.pfGroup = "7"
			}
			tree := groupTree(t, tc.pfGroup, tc.members...)
			err := CheckViable(tree.Root, tc.bdf)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("CheckViable(%s) = %v, want %v", tc.bdf, err, tc.wantErr)
			}
			if tc.wantMsg != "" && err.Error() != tc.wantMsg {
				t.Errorf("CheckViable(%s) message:\n got %s\nwant %s", tc.bdf, err, tc.wantMsg)
			}
		})
	}
}
