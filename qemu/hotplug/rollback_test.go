package hotplug_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/hotplug"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

// tapAdds are the four commands that plug a two-queue tap NIC "net0".
func tapAdds() []qmptest.Step {
	return []qmptest.Step{
		getfd("net0-fd0"),
		getfd("net0-fd1"),
		qmptest.Expect("netdev_add", `{"type": "tap", "id": "net0", "fds": "net0-fd0:net0-fd1", "vhost": false}`),
		qmptest.Expect("device_add", `{"driver": "virtio-net-pci", "id": "net0", "bus": "rp1", "netdev": "net0",
			"romfile": "", "mq": true, "vectors": 6}`),
	}
}

// TestPlugRollsBack fails the N-th command of a plug and pins the rollback:
// what was added goes, latest first; files a backend took are expected to
// be gone already (closefd's error is no failure).
func TestPlugRollsBack(t *testing.T) {
	tests := []struct {
		failing  int // index in tapAdds
		step     string
		rollback []qmptest.Step
	}{
		{0, `getfd "net0-fd0"`, nil},
		{1, `getfd "net0-fd1"`, []qmptest.Step{qmptest.Expect("closefd", `{"fdname": "net0-fd0"}`)}},
		{2, `netdev_add "net0"`, []qmptest.Step{
			qmptest.Expect("closefd", `{"fdname": "net0-fd1"}`),
			qmptest.Expect("closefd", `{"fdname": "net0-fd0"}`),
		}},
		{3, `device_add "net0"`, []qmptest.Step{
			qmptest.Expect("netdev_del", `{"id": "net0"}`),
			consumed("net0-fd1"),
			consumed("net0-fd0"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			script := tapAdds()[:tt.failing+1]
			script[tt.failing] = script[tt.failing].Fails("GenericError", "injected failure")
			q, _ := connect(t, append(script, tt.rollback...)...)
			dev := qemu.TapNet{ID: "net0", Bus: "rp1", FDs: tempFiles(t, 2)}
			p, err := hotplug.Plug(testContext(t), q, "net0", dev)
			if p != nil {
				t.Errorf("Plug returned %+v with the error", p)
			}
			wantErr(t, err, nil, `hot-plugging "net0": `+tt.step, "injected failure")
			var qe *qmp.Error
			if !errors.As(err, &qe) || qe.Class != qmp.ClassGenericError {
				t.Errorf("error = %v, want QEMU's *qmp.Error", err)
			}
		})
	}
}

// TestPlugRollsBackDiskAndChardev pins the rollback of the other backends.
func TestPlugRollsBackDiskAndChardev(t *testing.T) {
	t.Run("virtio-blk", func(t *testing.T) {
		q, _ := connect(t,
			qmptest.ExpectAny("blockdev-add"),
			qmptest.ExpectAny("blockdev-add"),
			qmptest.ExpectAny("device_add").Fails("GenericError", "Bus 'rp3' not found"),
			qmptest.Expect("blockdev-del", `{"node-name": "blk0"}`),
			qmptest.Expect("blockdev-del", `{"node-name": "blk0-file"}`),
		)
		_, err := hotplug.Plug(testContext(t), q, "blk0", qemu.VirtioBlk{ID: "blk0", Bus: "rp3", Path: "/img"})
		wantErr(t, err, nil, `hot-plugging "blk0": device_add "blk0"`, "Bus 'rp3' not found")
	})
	t.Run("vhost-user-fs", func(t *testing.T) {
		q, _ := connect(t,
			qmptest.ExpectAny("chardev-add"),
			qmptest.ExpectAny("device_add").Fails("GenericError", "Failed to read msg header"),
			qmptest.Expect("chardev-remove", `{"id": "fs0"}`),
		)
		_, err := hotplug.Plug(testContext(t), q, "fs0", qemu.VirtioFS{ID: "fs0", SocketPath: "/s", Tag: "t"})
		wantErr(t, err, nil, `device_add "fs0"`)
	})
}

// TestPlugRollbackFailureIsReported: a rollback that fails leaves the VM
// changed, and the error says what is left besides why the plug failed.
func TestPlugRollbackFailureIsReported(t *testing.T) {
	q, _ := connect(t,
		qmptest.ExpectAny("blockdev-add"),
		qmptest.ExpectAny("blockdev-add"),
		qmptest.ExpectAny("device_add").Fails("GenericError", "no slot"),
		qmptest.Expect("blockdev-del", `{"node-name": "blk0"}`).Fails("GenericError", "Node 'blk0' is busy"),
		qmptest.Expect("blockdev-del", `{"node-name": "blk0-file"}`).Fails("GenericError", "Node 'blk0-file' is busy"),
	)
	_, err := hotplug.Plug(testContext(t), q, "blk0", qemu.VirtioBlk{ID: "blk0", Path: "/img"})
	wantErr(t, err, nil, `device_add "blk0"`, "no slot", "rolling back", `blockdev-del "blk0"`, `blockdev-del "blk0-file"`)
}

// TestPlugRollsBackAfterTimeout: when ctx ends before QEMU answers, the
// command may still run, so the rollback removes it too (and QEMU's "not
// found" then means it never ran), even though ctx has ended.
func TestPlugRollsBackAfterTimeout(t *testing.T) {
	q, _ := connect(t,
		qmptest.ExpectAny("netdev_add"),
		qmptest.ExpectAny("device_add").Hangs(),
		qmptest.Expect("device_del", `{"id": "net0"}`).Fails(qmp.ClassDeviceNotFound, "Device 'net0' not found"),
		qmptest.Expect("netdev_del", `{"id": "net0"}`),
	)
	ctx, cancel := context.WithTimeout(testContext(t), 300*time.Millisecond)
	defer cancel()
	_, err := hotplug.Plug(ctx, q, "net0", qemu.TapNet{ID: "net0", IfName: "tap0"})
	wantErr(t, err, context.DeadlineExceeded, `device_add "net0"`)
	if strings.Contains(err.Error(), "rolling back") {
		t.Errorf("error = %v, want a clean rollback", err)
	}
}
