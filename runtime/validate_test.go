package runtime

import (
	"errors"
	"strings"
	"testing"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
)

func TestPlanVMRejects(t *testing.T) {
	long := strings.Repeat("t", 37)
	tests := []struct {
		name  string
		cfg   func(*configs.Config)
		in    func(*VMInput)
		is    error
		names string // the error must name this (a share, a key, a path)
	}{
		{"tag too long for virtio-fs", nil, func(in *VMInput) { in.Shares = []Share{{Tag: long, HostPath: "/srv"}} }, ErrInvalid, long},
		{"tag too long for 9p", func(c *configs.Config) { c.SharedFS.Driver = configs.FSVirtio9P },
			func(in *VMInput) { in.Shares = []Share{{Tag: strings.Repeat("n", 32), HostPath: "/srv"}} }, ErrInvalid, strings.Repeat("n", 32)},
		{"empty tag", nil, func(in *VMInput) { in.Shares = []Share{{HostPath: "/srv/x"}} }, ErrInvalid, "/srv/x"},
		{"tag with a slash", nil, func(in *VMInput) { in.Shares = []Share{{Tag: "a/b", HostPath: "/srv"}} }, ErrInvalid, `"a/b"`},
		{"duplicate tag", nil, func(in *VMInput) {
			in.Shares = []Share{{Tag: "dup", HostPath: "/a"}, {Tag: "dup", HostPath: "/b"}}
		}, ErrInvalid, `"dup"`},
		{"relative host path", nil, func(in *VMInput) { in.Shares = []Share{{Tag: "rel", HostPath: "srv/data"}} }, ErrInvalid, `share "rel"`},
		{"unclean host path", nil, func(in *VMInput) { in.Shares = []Share{{Tag: "dots", HostPath: "/srv/../etc"}} }, ErrInvalid, `share "dots"`},
		{"comma for virtiofsd", nil, func(in *VMInput) { in.Shares = []Share{{Tag: "comma", HostPath: "/srv/a,b"}} }, ErrInvalid, `share "comma"`},
		{"empty sandbox id", nil, func(in *VMInput) { in.ID = "" }, ErrInvalid, "sandbox id"},
		{"sandbox id with slash", nil, func(in *VMInput) { in.ID = "a/b" }, ErrInvalid, `"a/b"`},
		{"relative sandbox dir", nil, func(in *VMInput) { in.Dir = "run/kite/sb1" }, ErrInvalid, "run/kite/sb1"},
		{"socket path too long", nil, func(in *VMInput) { in.Dir = "/run/kite/" + strings.Repeat("d", 86) }, ErrInvalid, "share0.sock"},
		{"kvm without kvm", func(c *configs.Config) { c.Hypervisor.Accel = configs.AccelKVM }, nil, ErrHost, "hypervisor.accel"},
		{"auto without host facts", nil, func(in *VMInput) { in.Host.Accel = "" }, ErrInvalid, "DetectHost"},
		{"vsock without vhost-vsock", func(c *configs.Config) { c.Agent.Transport = configs.TransportVsock }, nil, ErrHost, "vhost_vsock"},
		{"vsock without a cid", nil, func(in *VMInput) { in.Host.VhostVsock = true }, ErrInvalid, "guest CID"},
		{"nvdimm image missing", func(c *configs.Config) { c.Guest.ImageType, c.Guest.Dir = configs.ImageNVDIMM, "/nonexistent" }, nil, ErrHost, "/nonexistent/rootfs.img"},
		{"microvm under tcg without TSC", func(c *configs.Config) {
			c.Hypervisor.Machine = configs.MachineMicroVM
			c.Hotplug.Method = configs.HotplugNative
		}, func(in *VMInput) { in.Host.TSCKHz = 0 }, ErrHost, "TSCKHz"},
		{"invalid config", func(c *configs.Config) { c.Hypervisor.VCPUs = 0 }, nil, configs.ErrInvalid, "hypervisor.vcpus"},
		{"cpu host under tcg", func(c *configs.Config) { c.Hypervisor.CPUModel = "host" }, nil, qemu.ErrInvalid, "CPU.Model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := configs.Default()
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			in := input(Share{Tag: "rootfs", HostPath: "/srv/rootfs"})
			if tt.in != nil {
				tt.in(&in)
			}
			_, err := PlanVM(cfg, in)
			if err == nil {
				t.Fatal("PlanVM succeeded")
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

func TestPlanVMTagLimits(t *testing.T) {
	cfg := configs.Default()
	if _, err := PlanVM(cfg, input(Share{Tag: strings.Repeat("t", 36), HostPath: "/srv"})); err != nil {
		t.Errorf("36-byte virtio-fs tag: %v", err)
	}
	cfg.SharedFS.Driver = configs.FSVirtio9P
	if _, err := PlanVM(cfg, input(Share{Tag: strings.Repeat("t", 31), HostPath: "/srv"})); err != nil {
		t.Errorf("31-byte 9p tag: %v", err)
	}
	if _, err := PlanVM(cfg, input(Share{Tag: "comma", HostPath: "/srv/a,b"})); err != nil {
		t.Errorf("9p share with a comma (QEMU escapes it): %v", err)
	}
}
