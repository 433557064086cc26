package vfio

import (
	"errors"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TestIntegrationVFChangeNotSRIOV drives the real netlink path against a
// netdev without VFs (a veth in a private netns): reading its VF fails
// naming the PF and the VF, and a change the kernel refuses says which VF,
// which netdev, which setting, and that the driver has no such setting.
// The success path needs an SR-IOV NIC: the igb test host (sandbox's
// testVFSettings).
func TestIntegrationVFChangeNotSRIOV(t *testing.T) {
	testutil.RequireRoot(t)
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := netns.New() // also switches this thread into it
	if err != nil {
		orig.Close()
		t.Fatalf("creating netns: %v", err)
	}
	t.Cleanup(func() {
		if err := netns.Set(orig); err != nil {
			t.Errorf("back to the original netns: %v", err)
		} else {
			runtime.UnlockOSThread()
		}
		ns.Close()
		orig.Close()
	})
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "kitepf0"}, PeerName: "kitepf1"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatalf("adding veth: %v", err)
	}
	vf := VF{PFNetdev: "kitepf0", Index: 0}
	if _, err := vf.PrepareChange(VFSettings{MAC: mac(t, "02:00:00:aa:bb:cc")}); err == nil || !strings.Contains(err.Error(), "PF kitepf0 does not list VF 0") {
		t.Errorf("PrepareChange on a veth = %v, want it to say kitepf0 has no VF 0", err)
	}
	on := true
	c := &VFChange{PFNetdev: "kitepf0", Index: 0, Set: VFSettings{MAC: mac(t, "02:00:00:aa:bb:cc"), Trust: &on}}
	err = c.Apply()
	if !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("Apply on a veth = %v, want EOPNOTSUPP", err)
	}
	for _, s := range []string{"VF 0 of kitepf0", "mac 02:00:00:aa:bb:cc", "does not support it"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}
