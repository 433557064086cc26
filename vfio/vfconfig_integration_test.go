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

// TestIntegrationConfigureVFNotSRIOV drives the real netlink path against a
// netdev without VFs (a veth in a private netns): the kernel refuses, and the
// error says which VF, which netdev and which setting. The success path needs
// an SR-IOV NIC (the igb test host of FIELD-NOTES).
func TestIntegrationConfigureVFNotSRIOV(t *testing.T) {
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
	err = ConfigureVF("kitepf0", 0, VFConfig{MAC: mac(t, "02:00:00:aa:bb:cc")})
	if !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Fatalf("ConfigureVF on a veth = %v, want EOPNOTSUPP", err)
	}
	for _, s := range []string{"VF 0", "kitepf0", "MAC 02:00:00:aa:bb:cc"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}
