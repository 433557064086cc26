package qemu

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

// edit changes the device of type T whose spec ID is id in c.
func edit[T Device](c *Config, id string, f func(*T)) {
	for i, d := range c.Devices {
		spec, ok := d.(T)
		devs := d.Parts(discardFDs{}).Devices
		if ok && devs[len(devs)-1].ID == id {
			f(&spec)
			c.Devices[i] = spec
			return
		}
	}
	panic("no device " + id)
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name            string
		edit            func(*Config)
		kind, id, field string
	}{
		{"memory 0", func(c *Config) { c.Memory.SizeMiB = 0 }, "", "", "Memory.SizeMiB"},
		{"no name", func(c *Config) { c.Name = "" }, "", "", "Name"},
		{"relative QMP socket", func(c *Config) { c.QMPSocket = "qmp.sock" }, "", "", "QMPSocket"},
		{"relative console log", func(c *Config) { c.ConsoleLog = "console.log" }, "", "", "ConsoleLog"},
		{"negative console budget", func(c *Config) { c.ConsoleLogMax = -1 }, "", "", "ConsoleLogMax"},
		{"console budget of one byte", func(c *Config) { c.ConsoleLogMax = 1 }, "", "", "ConsoleLogMax"},
		{"machine pc", func(c *Config) { c.Machine.Type = "pc" }, "", "", "Machine.Type"},
		{"microvm native hotplug", func(c *Config) { c.Machine.Type = MachineMicrovm }, "", "", "Machine.NativeHotplug"},
		{"accel hvf", func(c *Config) { c.Accel.Type = "hvf" }, "", "", "Accel.Type"},
		{"kvm tb-size", func(c *Config) { c.Accel.Type = AccelKVM }, "", "", "Accel.TBSizeMiB"},
		{"no vcpus", func(c *Config) { c.CPU.VCPUs = 0 }, "", "", "CPU.VCPUs"},
		{"host cpu under tcg", func(c *Config) { c.CPU.Model = "host" }, "", "", "CPU.Model"},
		{"initrd without kernel", func(c *Config) { c.Kernel.Path = "" }, "", "", "Kernel.Path"},
		{"maxmem without slots", func(c *Config) { c.Memory.Slots = 0 }, "", "", "Memory.MaxMiB"},
		{"maxmem below size", func(c *Config) { c.Memory.MaxMiB = 256 }, "", "", "Memory.MaxMiB"},
		{"nil device", func(c *Config) { c.Devices = append(c.Devices, nil) }, "", "", "Devices"},
		{"duplicate root port", func(c *Config) { c.RootPorts[1].ID = "rp0" }, "root-port", "rp0", "ID"},
		{"root port slot taken", func(c *Config) { c.RootPorts[1].Chassis, c.RootPorts[1].Slot = 1, 1 }, "root-port", "rp1", "Slot"},
		{"root port chassis range", func(c *Config) { c.RootPorts[1].Chassis = 256 }, "root-port", "rp1", "Chassis"},
		{"root port addr", func(c *Config) { c.RootPorts[1].Addr = "4" }, "root-port", "rp1", "Addr"},
		{"empty id", func(c *Config) { edit(c, "net1", func(d *TapNet) { d.ID = "" }) }, "tap-net", "", "ID"},
		{"id with comma", func(c *Config) { edit(c, "net1", func(d *TapNet) { d.ID = "net,1" }) }, "tap-net", "net,1", "ID"},
		{"queues > 256", func(c *Config) { edit(c, "net1", func(d *TapNet) { d.Queues = 257 }) }, "tap-net", "net1", "Queues"},
		{"tap fds and ifname", func(c *Config) { edit(c, "net0", func(d *TapNet) { d.IfName = "tap0" }) }, "tap-net", "net0", "IfName"},
		{"tap neither", func(c *Config) { edit(c, "net1", func(d *TapNet) { d.IfName = "" }) }, "tap-net", "net1", "FDs"},
		{"tap queues vs fds", func(c *Config) { edit(c, "net0", func(d *TapNet) { d.Queues = 3 }) }, "tap-net", "net0", "Queues"},
		{"tap long ifname", func(c *Config) { edit(c, "net1", func(d *TapNet) { d.IfName = "a-very-long-ifname" }) }, "tap-net", "net1", "IfName"},
		{"vhostfds without vhost", func(c *Config) { edit(c, "net2", func(d *TapNet) { d.Vhost = false }) }, "tap-net", "net2", "VhostFDs"},
		{"vhostfds count", func(c *Config) { edit(c, "net2", func(d *TapNet) { d.VhostFDs = d.VhostFDs[:1] }) }, "tap-net", "net2", "VhostFDs"},
		{"nil tap fd", func(c *Config) { edit(c, "net0", func(d *TapNet) { d.FDs = []*os.File{nil} }) }, "tap-net", "net0", "FDs"},
		{"bad mac", func(c *Config) { edit(c, "net0", func(d *TapNet) { d.MAC = "02:00:00:00:00" }) }, "tap-net", "net0", "MAC"},
		{"multicast mac", func(c *Config) { edit(c, "net0", func(d *TapNet) { d.MAC = "01:00:5e:00:00:01" }) }, "tap-net", "net0", "MAC"},
		{"duplicate device id", func(c *Config) { edit(c, "net1", func(d *TapNet) { d.ID = "net0" }) }, "netdev", "net0", "ID"},
		{"reserved object id", func(c *Config) { edit(c, "nv0", func(d *NVDIMM) { d.ID = "mem" }) }, "memory-backend-file", "mem", "ID"},
		{"missing root port", func(c *Config) { edit(c, "net0", func(d *TapNet) { d.Bus = "rp99" }) }, "virtio-net-pci", "net0", "Bus"},
		{"root port taken", func(c *Config) { edit(c, "net1", func(d *TapNet) { d.Bus = "rp1" }) }, "virtio-net-pci", "net1", "Bus"},
		{"vhost-user-net without shared memory", func(c *Config) { c.Memory.Shared = false }, "vhost-user-net", "vnet0", "Memory.Shared"},
		{"vhost-user-fs without shared memory", func(c *Config) {
			c.Memory.Shared = false
			c.Devices = slices.DeleteFunc(c.Devices, func(d Device) bool { _, ok := d.(VhostUserNet); return ok })
		}, "virtio-fs", "fs0", "Memory.Shared"},
		{"vhost-user-net socket", func(c *Config) { edit(c, "vnet0", func(d *VhostUserNet) { d.SocketPath = "" }) }, "vhost-user-net", "vnet0", "SocketPath"},
		{"nvdimm without slots", func(c *Config) { c.Memory.Slots, c.Memory.MaxMiB = 0, 0 }, "nvdimm", "nv0", "Memory.Slots"},
		{"nvdimm above maxmem", func(c *Config) { c.Memory.MaxMiB = 520 }, "nvdimm", "nv0", "Memory.MaxMiB"},
		{"nvdimm on microvm", func(c *Config) { c.Machine = Machine{Type: MachineMicrovm} }, "nvdimm", "nv0", "Machine.Type"},
		{"nvdimm read-only armed", func(c *Config) { edit(c, "nv0", func(d *NVDIMM) { d.Unarmed = false }) }, "nvdimm", "nv0", "Unarmed"},
		{"nvdimm size", func(c *Config) { edit(c, "nv0", func(d *NVDIMM) { d.Size = 0 }) }, "nvdimm", "nv0", "Size"},
		{"virtiofs tag", func(c *Config) { edit(c, "fs0", func(d *VirtioFS) { d.Tag = strings.Repeat("t", 37) }) }, "virtio-fs", "fs0", "Tag"},
		{"virtiofs queue size", func(c *Config) { edit(c, "fs0", func(d *VirtioFS) { d.QueueSize = 1000 }) }, "virtio-fs", "fs0", "QueueSize"},
		{"9p tag", func(c *Config) { edit(c, "p9", func(d *NineP) { d.Tag = strings.Repeat("t", 32) }) }, "9p", "p9", "Tag"},
		{"9p security model", func(c *Config) { edit(c, "p9", func(d *NineP) { d.SecurityModel = "" }) }, "9p", "p9", "SecurityModel"},
		{"9p relative path", func(c *Config) { edit(c, "p9", func(d *NineP) { d.Path = "srv" }) }, "9p", "p9", "Path"},
		{"blk native aio buffered", func(c *Config) { edit(c, "blk0", func(d *VirtioBlk) { d.DirectIO = false }) }, "virtio-blk", "blk0", "AIO"},
		{"blk aio name", func(c *Config) { edit(c, "blk0", func(d *VirtioBlk) { d.AIO = "posix" }) }, "virtio-blk", "blk0", "AIO"},
		{"blk node name clash", func(c *Config) { edit(c, "blk1", func(d *VirtioBlk) { d.ID = "blk0-file" }) }, "blockdev", "blk0-file", "ID"},
		{"vfio bdf", func(c *Config) { edit(c, "vf0", func(d *VFIO) { d.Host = "3b:02.1" }) }, "vfio-pci", "vf0", "Host"},
		{"vsock cid", func(c *Config) { edit(c, "vsock0", func(d *Vsock) { d.GuestCID = 2 }) }, "vhost-vsock", "vsock0", "GuestCID"},
		{"serial port name", func(c *Config) { edit(c, "agent", func(d *SerialPort) { d.Name = "" }) }, "serial-port", "agent", "Name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fullConfig()
			tc.edit(&c)
			_, err := c.Build()
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("Build() error = %v, want a *SpecError", err)
			}
			if se.Kind != tc.kind || se.ID != tc.id || se.Field != tc.field {
				t.Errorf("error names %s %q field %s, want %s %q field %s (%v)", se.Kind, se.ID, se.Field, tc.kind, tc.id, tc.field, err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestFullConfigIsValid(t *testing.T) {
	for name, c := range map[string]Config{"minimal": minimalConfig(), "full": fullConfig(), "microvm": microvmConfig()} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
