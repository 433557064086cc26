package vm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
)

// TestPlanMachineRejects holds the VM-input checks of runtime's
// TestPlanVMRejects; its share and tag checks are fsshare's
// (TestNewShareRejects, TestValidateTags).
func TestPlanMachineRejects(t *testing.T) {
	tests := []struct {
		name  string
		cfg   func(*configs.Config)
		in    func(*vm.Input) // before the devices are added
		is    error
		names string // the error must name this (a socket, a key, a path)
	}{
		{"empty sandbox id", nil, func(in *vm.Input) { in.ID = "" }, vm.ErrInvalid, "sandbox id"},
		{"sandbox id with slash", nil, func(in *vm.Input) { in.ID = "a/b" }, vm.ErrInvalid, `"a/b"`},
		{"sandbox id with a colon", nil, func(in *vm.Input) { in.ID = "a:b" }, vm.ErrInvalid, `"a:b"`},
		{"relative sandbox dir", nil, func(in *vm.Input) { in.Dir = "run/kite/sb1" }, vm.ErrInvalid, "run/kite/sb1"},
		// The share's virtiofsd socket is the longest path: a share says
		// what sockets it needs (attach.Needs), the plan checks them.
		{"socket path too long", nil, func(in *vm.Input) { in.Dir = "/run/kite/" + strings.Repeat("d", 86) }, vm.ErrInvalid, "share0.sock"},
		{"kvm without kvm", func(c *configs.Config) { c.Hypervisor.Accel = configs.AccelKVM }, nil, vm.ErrHost, "hypervisor.accel"},
		{"auto without host facts", nil, func(in *vm.Input) { in.Host.Accel = "" }, vm.ErrInvalid, "DetectHost"},
		{"vsock without vhost-vsock", func(c *configs.Config) { c.Agent.Transport = configs.TransportVsock }, nil, vm.ErrHost, "vhost_vsock"},
		{"vsock without a cid", nil, func(in *vm.Input) { in.Host.VhostVsock = true }, vm.ErrInvalid, "guest CID"},
		// The runtime read the image's header while planning and failed
		// with ErrHost when it was missing; the collect step reads it now
		// (sandbox.collect, nvdimm.CheckImage), and a plan without the
		// collected image is refused, naming the image.
		{"nvdimm image not collected", func(c *configs.Config) { c.Guest.ImageType, c.Guest.Dir = configs.ImageNVDIMM, "/nonexistent" },
			nil, vm.ErrInvalid, "/nonexistent/rootfs.img"},
		{"microvm under tcg without TSC", func(c *configs.Config) {
			c.Hypervisor.Machine = configs.MachineMicroVM
			c.Hotplug.Method = configs.HotplugNative
		}, func(in *vm.Input) { in.Host.TSCKHz = 0 }, vm.ErrHost, "TSCKHz"},
		{"invalid config", func(c *configs.Config) { c.Hypervisor.VCPUs = 0 }, nil, configs.ErrInvalid, "hypervisor.vcpus"},
		{"cpu host under tcg", func(c *configs.Config) { c.Hypervisor.CPUModel = "host" }, nil, qemu.ErrInvalid, "CPU.Model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configs.Default()
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			in := input()
			if tt.in != nil {
				tt.in(&in)
			}
			// The shares' files go in the VM directory: made after it is set.
			in = withDevices(t, cfg, in, share{tag: "rootfs", host: "/srv/rootfs"})
			_, err := vm.PlanMachine(cfg, in)
			if err == nil {
				t.Fatal("PlanMachine succeeded")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q does not match %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.names) {
				t.Errorf("error %q does not name %q", err, tt.names)
			}
		})
	}
}

// Attachment names give QEMU ids: two of one name are refused.
func TestPlanMachineRejectsDuplicateName(t *testing.T) {
	cfg := configs.Default()
	in := withDevices(t, cfg, input(), share{tag: "rootfs", host: "/srv/rootfs"})
	in.Attachments = append(in.Attachments, in.Attachments[0])
	if _, err := vm.PlanMachine(cfg, in); !errors.Is(err, vm.ErrInvalid) || !strings.Contains(err.Error(), `two devices are named "share0"`) {
		t.Errorf("PlanMachine with share0 twice = %v, want ErrInvalid naming it", err)
	}
}
