package sandbox

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/testing/sriovtest"
	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vfio"
	"github.com/kite-vm/kite/vm"
)

// testFunctionVFRules runs inside a test host with an igb NIC: a VF the
// device plugin assigned (PCIDEVICE_INTEL_COM_SRIOV_DPDK, no CNI to set
// it up) is planned with the first devices.vf rule that matches its
// resource, and its attach sets the rule's VLAN, QoS, rate, spoof check
// and trust through the PF, recorded first in the sandbox's crash record,
// before binding it to vfio-pci; the undo gives it back to igbvf and the
// PF's table back as it was; a rule with a setting igb refuses fails the
// attach naming the rule and the setting, with the VF still on igbvf and
// the table untouched.
func testFunctionVFRules(t *testing.T) {
	const root = "/sys"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, bdf := sriovtest.IGBVF(t, root)
	vf, _, err := vfio.VFOf(root, bdf)
	if err != nil {
		t.Fatal(err)
	}
	testhost.LinkUp(t, vf.PFNetdev)
	// The rules set no MAC: igbvf, given none by the PF, picks a random one
	// each time it probes, which the PF's table shows; it is not compared.
	pfTable := func(t testing.TB, vf vfio.VF) vfio.VFSettings {
		s := pfTable(t, vf)
		s.MAC = nil
		return s
	}
	before := pfTable(t, vf)
	n := func(v int) *int { return &v }
	on, off := true, false
	rules := []configs.VFRule{
		{Resource: "intel.com/sriov_netdevice", VLAN: n(10)}, // another resource
		{PF: vf.PFNetdev, Resource: "intel.com/sriov_dpdk", VLAN: n(300), VLANQoS: n(5), MaxTxRate: n(200), SpoofChk: &off, Trust: &on},
	}
	// plan plans the sandbox and records the function's binding as the
	// engine does before the boot (recordBoot).
	plan := func(rules []configs.VFRule) (*devicemgr.VFIOFunction, *recorder, string) {
		cfg := configs.Default()
		cfg.Devices.VF = rules
		sc := Config{ID: "vfr", Dir: t.TempDir(), Config: cfg, SysfsRoot: root}
		f := facts{host: vm.Host{Accel: qemu.AccelTCG},
			functions: []devicemgr.Assignment{{BDF: bdf, Source: "PCIDEVICE_INTEL_COM_SRIOV_DPDK"}}}
		if err := collectVFs(sc, &f); err != nil {
			t.Fatal(err)
		}
		l, err := planSandbox(sc, f)
		if err != nil {
			t.Fatal(err)
		}
		fn := l.functions[bdf]
		rec := &recorder{path: sc.recordPath()}
		bs, err := devicemgr.CurrentBindings(root, []string{bdf})
		if err == nil {
			err = rec.addBindings(root, bs)
		}
		if err == nil {
			err = rec.update(func(r *record) { r.ID, r.VMDir = sc.ID, filepath.Join(sc.Dir, "vm") })
		}
		if err != nil {
			t.Fatal(err)
		}
		fn.Journal = rec
		return fn, rec, sc.Dir
	}
	want := before
	want.VLAN = &vfio.VLAN{ID: 300, QoS: 5, Proto: vfio.VLAN8021Q}
	want.Rate, want.SpoofChk, want.Trust = &vfio.Rate{MaxMbps: 200}, &off, &on

	for _, undo := range []string{"the attach's undo", "the crash cleanup"} {
		fn, rec, dir := plan(rules)
		if fn.VFRule != "devices.vf[1]" {
			t.Fatalf("%s planned with rule %q, want devices.vf[1]", bdf, fn.VFRule)
		}
		var host cleanup.Stack
		if _, err := fn.Attach(ctx, &host); err != nil {
			t.Fatalf("attach: %v", err)
		}
		if drv := sriovtest.DriverOf(t, root, bdf); drv != vfio.VFIODriver {
			t.Errorf("%s on %q after the attach, want vfio-pci", bdf, drv)
		}
		if got := pfTable(t, vf); !cmp.Equal(got, want) {
			t.Errorf("the PF's table while %s is passed through: %s\nwant the rule's: %s", bdf, got, want)
		}
		if len(rec.rec.VFs) != 1 || rec.rec.VFs[0].Undo.VLAN == nil || *rec.rec.VFs[0].Undo.VLAN != *before.VLAN {
			t.Errorf("crash record VFs %+v, want the change with the VLAN to put back", rec.rec.VFs)
		}
		if undo == "the crash cleanup" {
			// The process that attached it is gone, its undo with it.
			err = Cleanup(ctx, dir)
		} else {
			err = host.CleanCtx(ctx)
		}
		if err != nil {
			t.Fatalf("%s: %v", undo, err)
		}
		if drv := sriovtest.DriverOf(t, root, bdf); drv != "igbvf" {
			t.Errorf("%s on %q after %s, want igbvf", bdf, drv, undo)
		}
		if got := pfTable(t, vf); !cmp.Equal(got, before) {
			t.Errorf("the PF's table after %s: %s\nwant as before: %s", undo, got, before)
		}
	}

	bad := rules[1]
	bad.LinkState = "enable"
	fn, _, _ := plan([]configs.VFRule{bad})
	var host cleanup.Stack
	_, err = fn.Attach(ctx, &host)
	if err == nil || !strings.Contains(err.Error(), "devices.vf[0]: setting state enable on VF") || !strings.Contains(err.Error(), "does not support it") {
		t.Errorf("attach with a link state igb cannot set: %v, want it refused naming the rule and the setting", err)
	}
	if err := host.CleanCtx(ctx); err != nil {
		t.Fatalf("undo: %v", err)
	}
	if drv := sriovtest.DriverOf(t, root, bdf); drv != "igbvf" {
		t.Errorf("%s on %q after the refusal, want igbvf", bdf, drv)
	}
	if got := pfTable(t, vf); !cmp.Equal(got, before) {
		t.Errorf("the PF's table after the refusal: %s\nwant as before: %s", got, before)
	}
}
