package vfio

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

const pf = "0000:3b:00.0"

type vfState struct{ NumVFs, Autoprobe int }

func sriovTree(t *testing.T, numVFs, autoprobe string) (*sysfstest.Tree, *fakeKernel) {
	t.Helper()
	tree := sysfstest.New(t)
	tree.Add(sysfstest.Function{BDF: pf, Class: "0x020000", Driver: "ixgbe", IOMMUGroup: "7", TotalVFs: "8", NumVFs: numVFs})
	tree.WriteFile(pf, "sriov_drivers_autoprobe", autoprobe+"\n")
	tree.Add(sysfstest.Function{BDF: "0000:5e:00.0", Class: "0x010802", Driver: "nvme", IOMMUGroup: "50"})
	return tree, newFakeKernel(t, tree, "ixgbe", "nvme")
}

func readVFState(t *testing.T, root string) vfState {
	t.Helper()
	dir := filepath.Join(root, "bus", "pci", "devices", pf)
	n, err := readInt(filepath.Join(dir, "sriov_numvfs"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := readInt(filepath.Join(dir, "sriov_drivers_autoprobe"))
	if err != nil {
		t.Fatal(err)
	}
	return vfState{n, a}
}

func TestSetNumVFs(t *testing.T) {
	const num, auto = "bus/pci/devices/" + pf + "/sriov_numvfs=", "bus/pci/devices/" + pf + "/sriov_drivers_autoprobe="
	tests := []struct {
		name       string
		from, auto string
		want       VFCount
		wantWrites []string
		wantState  vfState
	}{
		{name: "0 to 4", from: "0", auto: "1", want: VFCount{NumVFs: 4},
			wantWrites: []string{auto + "0", num + "4"}, wantState: vfState{4, 0}},
		{name: "0 to 3 with autoprobe", from: "0", auto: "0", want: VFCount{NumVFs: 3, DriversAutoprobe: true},
			wantWrites: []string{auto + "1", num + "3"}, wantState: vfState{3, 1}},
		{name: "4 to 2 goes through 0", from: "4", auto: "0", want: VFCount{NumVFs: 2},
			wantWrites: []string{num + "0", num + "2"}, wantState: vfState{2, 0}},
		{name: "4 to 0", from: "4", auto: "1", want: VFCount{NumVFs: 0},
			wantWrites: []string{num + "0"}, wantState: vfState{0, 1}},
		{name: "8 to 8 is a no-op", from: "8", auto: "0", want: VFCount{NumVFs: 8}, wantState: vfState{8, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree, k := sriovTree(t, tc.from, tc.auto)
			if err := SetNumVFs(k, tree.Root, pf, tc.want); err != nil {
				t.Fatalf("SetNumVFs: %v", err)
			}
			if diff := cmp.Diff(tc.wantWrites, k.writes); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantState, readVFState(t, tree.Root)); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetNumVFsRefusals(t *testing.T) {
	tests := []struct {
		name     string
		bdf      string
		n        int
		wantErr  error
		wantText []string
	}{
		{name: "above total", bdf: pf, n: 9, wantErr: ErrTooManyVFs, wantText: []string{pf, "9", "(8, ", "sriov_totalvfs"}},
		{name: "negative", bdf: pf, n: -1, wantErr: ErrTooManyVFs, wantText: []string{pf, "-1"}},
		{name: "not a PF", bdf: "0000:5e:00.0", n: 1, wantErr: ErrNotSRIOV, wantText: []string{"0000:5e:00.0", "sriov_totalvfs"}},
		{name: "unknown", bdf: "0000:99:00.0", n: 1, wantErr: ErrNoDevice},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree, k := sriovTree(t, "2", "0")
			err := SetNumVFs(k, tree.Root, tc.bdf, VFCount{NumVFs: tc.n})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("SetNumVFs error = %v, want %v", err, tc.wantErr)
			}
			for _, s := range tc.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if len(k.writes) != 0 {
				t.Errorf("refused SetNumVFs wrote %q", k.writes)
			}
		})
	}
}

func TestSetNumVFsRollsBack(t *testing.T) {
	tree, k := sriovTree(t, "4", "1")
	k.fail["sriov_numvfs=2"] = syscall.ENOMEM
	err := SetNumVFs(k, tree.Root, pf, VFCount{NumVFs: 2})
	if !errors.Is(err, syscall.ENOMEM) || !strings.Contains(err.Error(), "sriov_numvfs") {
		t.Fatalf("SetNumVFs error = %v, want ENOMEM naming sriov_numvfs", err)
	}
	if diff := cmp.Diff(vfState{4, 1}, readVFState(t, tree.Root)); diff != "" {
		t.Errorf("state after failure (-want +got):\n%s", diff)
	}
}

// The fake kernel must refuse what the real one refuses, or the tests above
// prove nothing about going through 0.
func TestFakeKernelRefusesNonZeroToNonZero(t *testing.T) {
	tree, k := sriovTree(t, "4", "0")
	path := filepath.Join(tree.Root, "bus", "pci", "devices", pf, "sriov_numvfs")
	if err := k.WriteAttr(path, "2"); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("fake kernel: 4 -> 2 = %v, want EBUSY", err)
	}
}
