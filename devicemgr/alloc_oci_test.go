package devicemgr

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

// cdevTree is a host with iommufd device nodes: vfio0 is 0000:3b:02.1.
func cdevTree(t *testing.T) string {
	tr := sysfstest.New(t)
	dir := tr.Add(sysfstest.Function{BDF: "0000:3b:02.1", Vendor: "0x8086", Device: "0x154c", Class: "0x020000", IOMMUGroup: "42", Driver: "vfio-pci"})
	sysfstest.Symlink(t, tr.Root, "class/vfio-dev/vfio0/device", dir)
	return tr.Root
}

func TestVFIONodeRequests(t *testing.T) {
	root := cdevTree(t)
	got, err := VFIONodeRequests(root, []string{"/dev/vfio/vfio", "/dev/vfio/42", "/dev/vfio/devices/vfio0", "/dev/vfio/7/"})
	if err != nil {
		t.Fatal(err)
	}
	want := Requests{
		Exact:  []ExactRequest{{Source: "linux.devices /dev/vfio/devices/vfio0", BDFs: []string{"0000:3b:02.1"}}},
		Groups: []GroupRequest{{Source: "linux.devices /dev/vfio/42", Group: 42}, {Source: "linux.devices /dev/vfio/7", Group: 7}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VFIONodeRequests() (-want +got):\n%s", diff)
	}
	for _, p := range []string{"/dev/vfio", "/dev/vfio/7", "/dev/vfio/vfio", "/dev/vfio/devices/vfio3"} {
		if !IsVFIONode(p) && p != "/dev/vfio" {
			t.Errorf("IsVFIONode(%q) = false", p)
		}
	}
	if IsVFIONode("/dev/fuse") || IsVFIONode("/dev/vfio") {
		t.Errorf("IsVFIONode takes /dev/fuse or /dev/vfio itself")
	}
}

func TestVFIONodeRequestsRefusals(t *testing.T) {
	root := cdevTree(t)
	for _, tt := range []struct {
		node    string
		wantErr error
		want    string
	}{
		{"/dev/vfio/abc", ErrBadRequest, "want /dev/vfio/<IOMMU group number>"},
		{"/dev/vfio/-1", ErrBadRequest, "want /dev/vfio/<IOMMU group number>"},
		{"/dev/vfio/007", ErrBadRequest, "want /dev/vfio/<IOMMU group number>"},
		{"/dev/vfio/devices/nvme0", ErrBadRequest, "want /dev/vfio/devices/vfio<N>"},
		{"/dev/vfio/devices/vfio9", ErrUnknownDevice, "no VFIO device vfio9"},
		{"/dev/vfio/devices/x/vfio0", ErrBadRequest, "is not a VFIO node"},
	} {
		_, err := VFIONodeRequests(root, []string{tt.node})
		if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.node) {
			t.Errorf("VFIONodeRequests(%q) = %v, want %v naming the node and %q", tt.node, err, tt.wantErr, tt.want)
		}
	}
}
