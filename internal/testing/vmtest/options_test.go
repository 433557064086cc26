package vmtest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
)

var testHost = host{QEMU: "/usr/bin/qemu-system-x86_64", GuestDir: "/guest", Accel: qemu.AccelTCG}

// planned is what a test of the mapping looks at in a plan.
type planned struct {
	Memory        qemu.Memory
	NativeHotplug bool
	RootPorts     []string
	Attachments   []string
	AgentDevice   qemu.Device
	Initrd        string
	AppendTail    string // the command line's last word
}

func summarize(p vm.Plan) planned {
	s := planned{
		Memory:        p.QEMU.Memory,
		NativeHotplug: p.QEMU.Machine.NativeHotplug,
		AgentDevice:   p.QEMU.Devices[0],
		Initrd:        p.QEMU.Kernel.Initrd,
	}
	for _, r := range p.QEMU.RootPorts {
		s.RootPorts = append(s.RootPorts, r.ID)
	}
	for _, a := range p.Attachments {
		s.Attachments = append(s.Attachments, a.Name())
	}
	words := strings.Fields(p.QEMU.Kernel.Append)
	s.AppendTail = words[len(words)-1]
	return s
}

// TestPlanMapsOptions pins how Options become a configuration and a
// vm.Input: what the engine would be given for the same VM.
func TestPlanMapsOptions(t *testing.T) {
	agent := func(reconnect int) qemu.Device {
		return qemu.SerialPort{ID: "agent", SocketPath: "/tmp/x/vm/agent.sock", Name: "agent0", Reconnect: reconnect}
	}
	nvdimm := qemu.NVDIMM{ID: "nv0", Path: "/img", Size: 64 << 20, ReadOnly: true, Unarmed: true}
	blk := qemu.VirtioBlk{ID: "blk0", Path: "/disk.img", Bus: "rp0"}
	tests := []struct {
		name string
		o    Options
		want planned
	}{{
		name: "zero",
		want: planned{Memory: qemu.Memory{SizeMiB: 256}, AgentDevice: agent(0), Initrd: "/guest/initramfs.cpio.gz", AppendTail: "kite.log=info"},
	}, {
		name: "ports, hotplug, kernel args, initrd",
		o:    Options{RootPorts: 2, NativeHotplug: true, KernelArgs: "foo=1", MemoryMiB: 384, Initrd: "/base/initrd.gz", Devices: []qemu.Device{blk}},
		want: planned{Memory: qemu.Memory{SizeMiB: 384}, NativeHotplug: true, RootPorts: []string{"rp0", "rp1"},
			Attachments: []string{"dev0"}, AgentDevice: agent(0), Initrd: "/base/initrd.gz", AppendTail: "foo=1"},
	}, {
		name: "shared memory for the devices",
		o:    Options{SharedMemory: true, RootPorts: 1, Devices: []qemu.Device{blk}},
		want: planned{Memory: qemu.Memory{SizeMiB: 256, Shared: true}, RootPorts: []string{"rp0"}, Attachments: []string{"dev0"},
			AgentDevice: agent(0), Initrd: "/guest/initramfs.cpio.gz", AppendTail: "kite.log=info"},
	}, {
		name: "nvdimm room",
		o:    Options{MemorySlots: 2, MaxMemoryMiB: 256 + 64, Devices: []qemu.Device{nvdimm}},
		want: planned{Memory: qemu.Memory{SizeMiB: 256, Slots: 2, MaxMiB: 320}, Attachments: []string{"dev0"},
			AgentDevice: agent(0), Initrd: "/guest/initramfs.cpio.gz", AppendTail: "kite.log=info"},
	}, {
		name: "rootfs over 9p first, agent reconnects",
		o:    Options{Rootfs: "/rootfs", AgentReconnect: true, Devices: []qemu.Device{blk}, RootPorts: 1},
		want: planned{Memory: qemu.Memory{SizeMiB: 256}, RootPorts: []string{"rp0"}, Attachments: []string{"rootfs", "dev0"},
			AgentDevice: agent(1), Initrd: "/guest/initramfs.cpio.gz", AppendTail: "kite.log=info"},
	}, {
		name: "rootfs over virtio-fs shares memory",
		o:    Options{Rootfs: "/rootfs", SharedFS: configs.FSVirtioFS},
		want: planned{Memory: qemu.Memory{SizeMiB: 256, Shared: true}, Attachments: []string{"rootfs"},
			AgentDevice: agent(0), Initrd: "/guest/initramfs.cpio.gz", AppendTail: "kite.log=info"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, share, err := tt.o.plan(testHost, "vmtest-x", "/tmp/x/vm")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summarize(p)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if (share != nil) != (tt.o.Rootfs != "") {
				t.Errorf("rootfs share %v with Rootfs %q", share, tt.o.Rootfs)
			}
			if _, err := previewCmdline(p); err != nil {
				t.Errorf("previewCmdline: %v", err)
			}
		})
	}
}

func TestPlanRootfsStorage(t *testing.T) {
	for _, fs := range []configs.FSDriver{"", configs.FSVirtio9P, configs.FSVirtioFS} {
		_, share, err := Options{Rootfs: "/rootfs", SharedFS: fs}.plan(testHost, "vmtest-x", "/tmp/x/vm")
		if err != nil {
			t.Fatal(err)
		}
		st := share.Storage(RootfsStorage, "")
		if st.GetId() != RootfsStorage || st.GetSource() != "rootfs" {
			t.Errorf("%q: storage %v", fs, st)
		}
		want := qemu.Device(qemu.NineP{ID: "rootfs", Path: "/rootfs", Tag: "rootfs", SecurityModel: qemu.SecurityPassthrough})
		if fs == configs.FSVirtioFS {
			want = qemu.VirtioFS{ID: "rootfs", SocketPath: share.Virtiofsd().SocketPath, Tag: "rootfs"}
		}
		if diff := cmp.Diff(want, share.Preview()); diff != "" {
			t.Errorf("%q: device (-want +got):\n%s", fs, diff)
		}
	}
}

func TestPlanRefuses(t *testing.T) {
	for _, o := range []Options{
		{WaitMarker: "ready", Rootfs: "/rootfs"},
		{WaitMarker: "ready", AgentReconnect: true},
		{SharedMemory: true},
		{MemorySlots: 1, MaxMemoryMiB: 260, Devices: []qemu.Device{qemu.NVDIMM{ID: "nv0", Path: "/img", Size: 64 << 20}}},
	} {
		if _, _, err := o.plan(testHost, "vmtest-x", "/tmp/x/vm"); err == nil {
			t.Errorf("plan(%+v) succeeded", o)
		}
	}
}
