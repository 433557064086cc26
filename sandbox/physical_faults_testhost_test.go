package sandbox

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/testing/sriovtest"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/vfio"
	"github.com/kite-vm/kite/vm/attach"
	"github.com/vishvananda/netlink"
)

// errInjected is the failure the tests inject.
var errInjected = errors.New("injected failure")

// failingFunction is a function attachment that fails before its inner
// attachment does anything, or after it bound the function.
type failingFunction struct {
	attach.Attachment
	afterBind bool
}

func (f *failingFunction) Attach(ctx context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	if !f.afterBind {
		return attach.Plugged{}, errInjected
	}
	if _, err := f.Attachment.Attach(ctx, host); err != nil {
		return attach.Plugged{}, err
	}
	return attach.Plugged{}, errInjected
}

// testPhysicalFaults runs inside a test host with an igb NIC: a VF netdev
// the SR-IOV CNI left in a pod netns, its PF holding a VLAN, spoof check
// off and trust on for it, is passed through with a failure injected at
// each step: before the function is taken from its driver, after it is
// bound to vfio-pci, and at a later step of the boot (the attach done,
// the boot's undo runs). Each time the VF is back on igbvf, its netdev in
// the pod netns as the CNI left it, and the PF's table for it as before
// (VLAN, spoof check and trust kept; the admin MAC Kite set put back, or
// the pod's kept when the PF held none).
func testPhysicalFaults(t *testing.T) {
	const root = "/sys"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mac, _ := net.ParseMAC("02:4b:69:74:65:0a")
	vf, podPath := vfInPod(t, root, "kite-pod-vff", mac)
	pfInfo, _, err := vfio.VFOf(root, vf)
	if err != nil {
		t.Fatal(err)
	}
	off, on := false, true
	if err := vfio.ConfigureVF(pfInfo.PFNetdev, pfInfo.Index, vfio.VFConfig{VLAN: 100, SpoofCheck: &off, Trust: &on}); err != nil {
		t.Fatal(err)
	}
	before, err := netmodels.Scan(podPath)
	if err != nil {
		t.Fatal(err)
	}
	// The PF's table as it must be after each failure: as before, but
	// for the admin MAC when there was none, which the VF keeps (the pod's
	// MAC, which its netdev had): netmodels.VFAdmin.
	tableWant := pfTable(t, pfInfo.PFNetdev, pfInfo.Index)
	if tableWant.mac == "00:00:00:00:00:00" {
		tableWant.mac = mac.String()
	}

	for _, tc := range []struct {
		name string
		fail func(p *netmodels.Physical)
		ok   bool // the attach succeeds; a later boot step fails
	}{
		{"before binding", func(p *netmodels.Physical) { p.Function = &failingFunction{Attachment: p.Function} }, false},
		{"after binding", func(p *netmodels.Physical) { p.Function = &failingFunction{Attachment: p.Function, afterBind: true} }, false},
		{"a later boot step", func(*netmodels.Physical) {}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planPhysical(t, root, podPath)
			tc.fail(p)
			var host cleanup.Stack
			_, err := p.Attach(ctx, &host)
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, errInjected) {
				t.Errorf("attach: %v, want it to succeed: %v", err, tc.ok)
			}
			if tc.ok && sriovtest.DriverOf(t, root, vf) != vfio.VFIODriver {
				t.Errorf("%s not on vfio-pci after the attach", vf)
			}
			// The boot's undo, as vm.Boot runs it when a step fails.
			if err := host.CleanCtx(ctx); err != nil {
				t.Fatalf("undo: %v", err)
			}
			if drv := sriovtest.DriverOf(t, root, vf); drv != "igbvf" {
				t.Errorf("%s driver = %q after the failure, want igbvf", vf, drv)
			}
			after, err := netmodels.Scan(podPath)
			if err != nil {
				t.Fatal(err)
			}
			if want, got := linkFacts(before, "net1"), linkFacts(after, "net1"); got != want {
				t.Errorf("net1 after the failure: %s\nwant (as before): %s", got, want)
			}
			if got := pfTable(t, pfInfo.PFNetdev, pfInfo.Index); got != tableWant {
				t.Errorf("the PF's table for the VF after the failure: %+v\nwant: %+v", got, tableWant)
			}
		})
	}
}

// planPhysical plans the pod netns's VF netdev's passthrough.
func planPhysical(t testing.TB, root, podPath string) *netmodels.Physical {
	t.Helper()
	for _, a := range planVFLayout(t, root, podPath).vm.Attachments {
		if p, ok := a.(*netmodels.Physical); ok {
			return p
		}
	}
	t.Fatal("no physical endpoint planned")
	return nil
}

// vfTable is a PF's admin state for one VF.
type vfTable struct {
	mac             string
	vlan            int
	spoofchk, trust bool
}

// pfTable reads the PF's admin state for VF index (IFLA_VFINFO_LIST).
func pfTable(t testing.TB, pfNetdev string, index int) vfTable {
	t.Helper()
	l, err := netlink.LinkByName(pfNetdev)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range l.Attrs().Vfs {
		if v.ID == index {
			return vfTable{mac: v.Mac.String(), vlan: v.Vlan, spoofchk: v.Spoofchk, trust: v.Trust != 0}
		}
	}
	t.Fatalf("%s has no VF %d", pfNetdev, index)
	return vfTable{}
}
