package hotplug_test

import (
	"testing"

	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/hotplug"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

// TestPlugUnplug pins, per device kind, every command Plug and Unplug send,
// in order, with their exact arguments.
func TestPlugUnplug(t *testing.T) {
	queues := tempFiles(t, 2)
	tests := []struct {
		name   string
		id     string
		dev    qemu.Device
		plug   []qmptest.Step
		unplug []qmptest.Step
	}{
		{
			name: "tap NIC with fds",
			id:   "net0",
			dev:  qemu.TapNet{ID: "net0", Bus: "rp1", MAC: "02:00:00:00:00:01", FDs: queues},
			plug: []qmptest.Step{
				getfd("net0-fd0"),
				getfd("net0-fd1"),
				qmptest.Expect("netdev_add", `{"type": "tap", "id": "net0", "fds": "net0-fd0:net0-fd1", "vhost": false}`),
				qmptest.Expect("device_add", `{"driver": "virtio-net-pci", "id": "net0", "bus": "rp1", "netdev": "net0",
					"mac": "02:00:00:00:00:01", "romfile": "", "mq": true, "vectors": 6}`),
			},
			unplug: []qmptest.Step{deleted("net0"), qmptest.Expect("netdev_del", `{"id": "net0"}`)},
		},
		{
			name: "vhost-user-fs",
			id:   "fs0",
			dev:  qemu.VirtioFS{ID: "fs0", Bus: "rp2", SocketPath: "/run/kite/vfs.sock", Tag: "share"},
			plug: []qmptest.Step{
				qmptest.Expect("chardev-add", `{"id": "fs0", "backend": {"type": "socket", "data": {
					"addr": {"type": "unix", "data": {"path": "/run/kite/vfs.sock"}}, "server": false}}}`),
				qmptest.Expect("device_add", `{"driver": "vhost-user-fs-pci", "id": "fs0", "bus": "rp2", "chardev": "fs0",
					"tag": "share", "queue-size": 1024}`),
			},
			unplug: []qmptest.Step{deleted("fs0"), qmptest.Expect("chardev-remove", `{"id": "fs0"}`)},
		},
		{
			name: "virtio-blk",
			id:   "blk0",
			dev: qemu.VirtioBlk{ID: "blk0", Bus: "rp3", Path: "/var/lib/kite/a,b.raw", ReadOnly: true, DirectIO: true,
				AIO: qemu.AIONative},
			plug: []qmptest.Step{
				qmptest.Expect("blockdev-add", `{"driver": "file", "node-name": "blk0-file", "filename": "/var/lib/kite/a,b.raw",
					"read-only": true, "aio": "native", "cache": {"direct": true}}`),
				qmptest.Expect("blockdev-add", `{"driver": "raw", "node-name": "blk0", "file": "blk0-file", "read-only": true}`),
				qmptest.Expect("device_add", `{"driver": "virtio-blk-pci", "id": "blk0", "bus": "rp3", "drive": "blk0"}`),
			},
			unplug: []qmptest.Step{
				deleted("blk0"),
				qmptest.Expect("blockdev-del", `{"node-name": "blk0"}`),
				qmptest.Expect("blockdev-del", `{"node-name": "blk0-file"}`),
			},
		},
		{
			name: "vfio-pci",
			id:   "vf0",
			dev:  qemu.VFIO{ID: "vf0", Bus: "rp4", Host: "0000:3b:02.1", NoROM: true},
			plug: []qmptest.Step{
				qmptest.Expect("device_add", `{"driver": "vfio-pci", "id": "vf0", "bus": "rp4", "host": "0000:3b:02.1", "romfile": ""}`),
			},
			unplug: []qmptest.Step{deleted("vf0")},
		},
		{
			name: "9p on a command-line fsdev",
			id:   "p9",
			dev:  qemu.NinePOnFsdev{ID: "p9", Bus: "rp5", Fsdev: "fs9", Tag: "vol1"},
			plug: []qmptest.Step{
				qmptest.Expect("device_add", `{"driver": "virtio-9p-pci", "id": "p9", "bus": "rp5", "fsdev": "fs9", "mount_tag": "vol1"}`),
			},
			unplug: []qmptest.Step{deleted("p9")},
		},
		{
			name: "serial port: a reconnecting client chardev, two devices",
			id:   "agent",
			dev:  qemu.SerialPort{ID: "agent", Bus: "rp6", SocketPath: "/run/kite/agent.sock", Name: "agent0", Reconnect: 1},
			plug: []qmptest.Step{
				qmptest.Expect("chardev-add", `{"id": "agent", "backend": {"type": "socket", "data": {
					"addr": {"type": "unix", "data": {"path": "/run/kite/agent.sock"}}, "server": false, "reconnect": 1}}}`),
				qmptest.Expect("device_add", `{"driver": "virtio-serial-pci", "id": "agent-serial", "bus": "rp6"}`),
				qmptest.Expect("device_add", `{"driver": "virtserialport", "id": "agent", "bus": "agent-serial.0",
					"chardev": "agent", "name": "agent0"}`),
			},
			unplug: []qmptest.Step{deleted("agent"), deleted("agent-serial"), qmptest.Expect("chardev-remove", `{"id": "agent"}`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, s := connect(t, append(tt.plug, tt.unplug...)...)
			ctx := testContext(t)
			p, err := hotplug.Plug(ctx, q, tt.id, tt.dev)
			if err != nil {
				t.Fatalf("Plug: %v", err)
			}
			if p.ID() != tt.id {
				t.Errorf("ID() = %q, want %q", p.ID(), tt.id)
			}
			if err := p.Unplug(ctx, q); err != nil {
				t.Fatalf("Unplug: %v", err)
			}
			if err := p.Unplug(ctx, q); err != nil { // nothing left: nothing sent
				t.Errorf("second Unplug: %v", err)
			}
			if _, ok := tt.dev.(qemu.TapNet); ok {
				wantSameFile(t, s, tt.id+"-fd0", queues[0])
				wantSameFile(t, s, tt.id+"-fd1", queues[1])
			}
		})
	}
}
