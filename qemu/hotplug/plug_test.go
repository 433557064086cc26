package hotplug_test

import (
	"fmt"
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
			name: "virtio-blk on an fd set",
			id:   "blk1",
			dev:  qemu.VirtioBlk{ID: "blk1", Bus: "rp3", Path: "/var/lib/kite/b.raw", File: queues[0]},
			plug: []qmptest.Step{
				qmptest.Expect("query-fdsets", "").Returns(`[{"fdset-id": 1, "fds": []}]`),
				qmptest.Expect("add-fd", fmt.Sprintf(`{"fdset-id": %d}`, qemu.DeviceFDSet("blk1"))).WithFD().
					Returns(fmt.Sprintf(`{"fdset-id": %d, "fd": 30}`, qemu.DeviceFDSet("blk1"))),
				qmptest.Expect("blockdev-add", fmt.Sprintf(`{"driver": "file", "node-name": "blk1-file", "filename": "/dev/fdset/%d"}`, qemu.DeviceFDSet("blk1"))),
				qmptest.Expect("blockdev-add", `{"driver": "raw", "node-name": "blk1", "file": "blk1-file"}`),
				qmptest.Expect("device_add", `{"driver": "virtio-blk-pci", "id": "blk1", "bus": "rp3", "drive": "blk1"}`),
			},
			unplug: []qmptest.Step{
				deleted("blk1"),
				qmptest.Expect("blockdev-del", `{"node-name": "blk1"}`),
				qmptest.Expect("blockdev-del", `{"node-name": "blk1-file"}`),
				qmptest.Expect("remove-fd", fmt.Sprintf(`{"fdset-id": %d}`, qemu.DeviceFDSet("blk1"))),
			},
		},
		{
			name: "vhost-user-fs on a passed connection",
			id:   "fs1",
			dev:  qemu.VirtioFS{ID: "fs1", Bus: "rp2", SocketPath: "/run/kite/vfs.sock", Tag: "share", Conn: queues[1]},
			plug: []qmptest.Step{
				getfd("fs1-fd0"),
				qmptest.Expect("chardev-add", `{"id": "fs1", "backend": {"type": "socket", "data": {
					"addr": {"type": "fd", "data": {"str": "fs1-fd0"}}, "server": false}}}`),
				qmptest.Expect("device_add", `{"driver": "vhost-user-fs-pci", "id": "fs1", "bus": "rp2", "chardev": "fs1",
					"tag": "share", "queue-size": 1024}`),
			},
			unplug: []qmptest.Step{deleted("fs1"), qmptest.Expect("chardev-remove", `{"id": "fs1"}`)},
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

// TestPlugChoosesAFreeFDSet: a device plugged again under its id, whose
// former fd set QEMU still lists (a paused VM keeps removed fds), gets the
// next free set.
func TestPlugChoosesAFreeFDSet(t *testing.T) {
	set := qemu.DeviceFDSet("blk1")
	next := qemu.NextFDSet(set)
	q, _ := connect(t,
		qmptest.Expect("query-fdsets", "").Returns(fmt.Sprintf(`[{"fdset-id": %d, "fds": []}]`, set)),
		qmptest.Expect("add-fd", fmt.Sprintf(`{"fdset-id": %d}`, next)).WithFD().Returns(fmt.Sprintf(`{"fdset-id": %d, "fd": 31}`, next)),
		qmptest.Expect("blockdev-add", fmt.Sprintf(`{"driver": "file", "node-name": "blk1-file", "filename": "/dev/fdset/%d"}`, next)),
		qmptest.Expect("blockdev-add", `{"driver": "raw", "node-name": "blk1", "file": "blk1-file"}`),
		qmptest.Expect("device_add", `{"driver": "virtio-blk-pci", "id": "blk1", "drive": "blk1"}`),
	)
	if _, err := hotplug.Plug(testContext(t), q, "blk1", qemu.VirtioBlk{ID: "blk1", Path: "/b.raw", File: tempFiles(t, 1)[0]}); err != nil {
		t.Fatalf("Plug: %v", err)
	}
	if got := qemu.NextFDSet(1<<31 - 1); got != 1<<30 {
		t.Errorf("NextFDSet wraps to %d, want %d", got, 1<<30)
	}
}
