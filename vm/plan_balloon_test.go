package vm_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
)

// TestPlanBalloon: hypervisor.free_page_reporting gives every VM one
// reporting balloon on the root bus (never on a root port, which hot plug
// owns), q35 and microvm alike; off, there is none.
func TestPlanBalloon(t *testing.T) {
	want := qemu.Balloon{ID: "balloon", FreePageReporting: true, DeflateOnOOM: true}
	for _, tc := range []struct {
		name string
		cfg  func(*configs.Config)
		want []qemu.Device
	}{
		{"default", nil, []qemu.Device{want}},
		{"microvm", func(c *configs.Config) {
			c.Hypervisor.Machine = configs.MachineMicroVM
			c.Hotplug.Method = configs.HotplugNative
		}, []qemu.Device{want}},
		{"with root ports and shares", func(c *configs.Config) { c.Hotplug.SpareRootPorts = 4 }, []qemu.Device{want}},
		{"off", func(c *configs.Config) { c.Hypervisor.FreePageReporting = false }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := configs.Default()
			if !cfg.Hypervisor.FreePageReporting {
				t.Fatal("hypervisor.free_page_reporting is off by default: the default file and this test disagree")
			}
			if tc.cfg != nil {
				tc.cfg(cfg)
			}
			p, err := vm.PlanMachine(cfg, withDevices(t, cfg, input(), share{tag: "rootfs", host: "/srv/r"}))
			if err != nil {
				t.Fatal(err)
			}
			var got []qemu.Device
			for _, d := range p.QEMU.Devices {
				if _, ok := d.(qemu.Balloon); ok {
					got = append(got, d)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("balloon devices (-want +got):\n%s", diff)
			}
			cl, err := p.Preview()
			if err != nil {
				t.Fatal(err)
			}
			arg := "virtio-balloon-pci,id=balloon,free-page-reporting=on,deflate-on-oom=on"
			if has := slices.Contains(cl.Args, arg); has != (tc.want != nil) {
				t.Errorf("command line has %q: %v, want %v", arg, has, tc.want != nil)
			}
		})
	}
}
