package sandbox

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/testing/sriovtest"
	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/vfio"
	"github.com/kite-vm/kite/vm/attach"
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
// off and trust on for it, is passed through with a devices.vf rule that
// changes all of those and limits its rate, and a failure injected at each
// step: before the function is taken from its driver, after it is bound to
// vfio-pci, at a later step of the boot (the attach done, the boot's undo
// runs), and in the rule itself (a link state igb cannot set, after the
// rule's VLAN was set). Each time the VF is back on igbvf, its netdev in
// the pod netns as the CNI left it, and the PF's table for it as before
// (the admin MAC Kite set put back, or the pod's kept when the PF held
// none). The crash record's account of the change puts the table back by
// itself too.
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
	testhost.LinkUp(t, pfInfo.PFNetdev) // igb limits a VF's rate against the PF's link speed
	off, on := false, true
	cni := &vfio.VFChange{PFNetdev: pfInfo.PFNetdev, Index: pfInfo.Index,
		Set: vfio.VFSettings{VLAN: &vfio.VLAN{ID: 100}, SpoofChk: &off, Trust: &on}}
	if err := cni.Apply(); err != nil {
		t.Fatal(err)
	}
	before, err := netmodels.Scan(podPath)
	if err != nil {
		t.Fatal(err)
	}
	// The PF's table as it must be after each failure: as before, but
	// for the admin MAC when there was none, which the VF keeps (the pod's
	// MAC, which its netdev had).
	tableWant := pfTable(t, pfInfo)
	if isZeroMAC(tableWant.MAC) {
		tableWant.MAC = mac
	}
	n := func(v int) *int { return &v }
	rule := configs.VFRule{PF: pfInfo.PFNetdev, VLAN: n(200), VLANQoS: n(2), SpoofChk: &on, Trust: &off, MaxTxRate: n(100)}
	during := tableWant
	during.VLAN = &vfio.VLAN{ID: 200, QoS: 2, Proto: vfio.VLAN8021Q}
	during.SpoofChk, during.Trust, during.Rate = &on, &off, &vfio.Rate{MaxMbps: 100}
	badRule := rule
	badRule.LinkState = "disable"

	for _, tc := range []struct {
		name string
		rule configs.VFRule
		fail func(p *netmodels.Physical)
		ok   bool   // the attach succeeds; a later boot step fails
		want string // in the error, besides the injected one
	}{
		{"before binding", rule, func(p *netmodels.Physical) { p.Function = &failingFunction{Attachment: p.Function} }, false, ""},
		{"after binding", rule, func(p *netmodels.Physical) { p.Function = &failingFunction{Attachment: p.Function, afterBind: true} }, false, ""},
		{"a later boot step", rule, func(*netmodels.Physical) {}, true, ""},
		{"a setting the PF refuses", badRule, func(*netmodels.Physical) {}, false,
			`passing interface "net1" through: devices.vf[0]: setting state disable on VF ` + strconv.Itoa(pfInfo.Index) + " of " + pfInfo.PFNetdev + ": the PF's driver does not support it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planPhysical(t, root, podPath, tc.rule)
			tc.fail(p)
			j := &memJournal{}
			p.Endpoint.Journal = j
			var host cleanup.Stack
			_, err := p.Attach(ctx, &host)
			switch {
			case tc.ok && err != nil:
				t.Errorf("attach: %v, want it to succeed", err)
			case !tc.ok && tc.want == "" && !errors.Is(err, errInjected):
				t.Errorf("attach: %v, want the injected failure", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("attach: %v, want an error containing %q", err, tc.want)
			}
			if tc.ok {
				if sriovtest.DriverOf(t, root, vf) != vfio.VFIODriver {
					t.Errorf("%s not on vfio-pci after the attach", vf)
				}
				if got := pfTable(t, pfInfo); !cmp.Equal(got, during) {
					t.Errorf("the PF's table for the VF while it is passed through: %s\nwant the rule's, with the pod's MAC: %s", got, during)
				}
				// The crash record alone puts the table back.
				if len(j.changes) != 1 || j.changes[0].VF == nil {
					t.Fatalf("journal %+v, want the VF change recorded", j.changes)
				}
				if err := netmodels.UndoHostChange(j.changes[0]); err != nil {
					t.Errorf("undo from the record: %v", err)
				}
				if got := pfTable(t, pfInfo); !cmp.Equal(got, tableWant) {
					t.Errorf("the PF's table after the record's undo: %s\nwant: %s", got, tableWant)
				}
			}
			// The boot's undo, as vm.Boot runs it when a step fails.
			if err := host.CleanCtx(ctx); err != nil {
				t.Fatalf("undo: %v", err)
			}
			if len(j.changes) != 0 {
				t.Errorf("journal after the undo: %+v, want the change forgotten", j.changes)
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
			if got := pfTable(t, pfInfo); !cmp.Equal(got, tableWant) {
				t.Errorf("the PF's table for the VF after the failure: %s\nwant: %s", got, tableWant)
			}
		})
	}
}

// memJournal is a netmodels.Journal in memory.
type memJournal struct{ changes []netmodels.HostChange }

func (j *memJournal) Note(c netmodels.HostChange) error {
	j.changes = append(slices.DeleteFunc(j.changes, func(o netmodels.HostChange) bool { return o.Endpoint == c.Endpoint }), c)
	return nil
}

func (j *memJournal) Forget(endpoint string) error {
	j.changes = slices.DeleteFunc(j.changes, func(o netmodels.HostChange) bool { return o.Endpoint == endpoint })
	return nil
}

// planPhysical plans the pod netns's VF netdev's passthrough.
func planPhysical(t testing.TB, root, podPath string, rules ...configs.VFRule) *netmodels.Physical {
	t.Helper()
	for _, a := range planVFLayout(t, root, podPath, rules...).vm.Attachments {
		if p, ok := a.(*netmodels.Physical); ok {
			return p
		}
	}
	t.Fatal("no physical endpoint planned")
	return nil
}

// pfTable reads the PF's admin state for the VF (IFLA_VFINFO_LIST).
func pfTable(t testing.TB, vf vfio.VF) vfio.VFSettings {
	t.Helper()
	s, err := vf.Settings()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func isZeroMAC(mac net.HardwareAddr) bool {
	return bytes.Equal(mac, make(net.HardwareAddr, len(mac)))
}
