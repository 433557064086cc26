package hotplug_test

import (
	"context"
	"testing"
	"time"

	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/hotplug"
	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

// TestUnplugKeepsBackendsWhileTheDeviceStays: while device_del fails (or its
// DEVICE_DELETED does not come) nothing else is removed, since QEMU still
// uses the backends; a later Unplug resumes, and a device QEMU no longer
// knows counts as gone.
func TestUnplugKeepsBackendsWhileTheDeviceStays(t *testing.T) {
	q, _ := connect(t,
		qmptest.ExpectAny("netdev_add"),
		qmptest.ExpectAny("device_add"),
		qmptest.Expect("device_del", `{"id": "net0"}`).Fails("GenericError", "Bus 'rp1' does not support hotplugging"),
		qmptest.Expect("device_del", `{"id": "net0"}`), // the guest never answers
		qmptest.Expect("device_del", `{"id": "net0"}`).Fails(qmp.ClassDeviceNotFound, "Device 'net0' not found"),
		qmptest.Expect("netdev_del", `{"id": "net0"}`),
	)
	ctx := testContext(t)
	p, err := hotplug.Plug(ctx, q, "net0", qemu.TapNet{ID: "net0", Bus: "rp1", IfName: "tap0"})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Unplug(ctx, q)
	wantErr(t, err, nil, `unplugging "net0": device_del "net0"`, "does not support hotplugging", "stays")

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	wantErr(t, p.Unplug(short, q), context.DeadlineExceeded, `device_del "net0"`, "DEVICE_DELETED")

	if err := p.Unplug(ctx, q); err != nil {
		t.Fatalf("Unplug once the device is gone: %v", err)
	}
}

// TestUnplugRetriesFailedBackends: a backend that cannot be removed is
// reported and kept, and the others are still removed; a later Unplug
// retries only what is left.
func TestUnplugRetriesFailedBackends(t *testing.T) {
	q, _ := connect(t,
		qmptest.ExpectAny("blockdev-add"),
		qmptest.ExpectAny("blockdev-add"),
		qmptest.ExpectAny("device_add"),
		deleted("blk0"),
		qmptest.Expect("blockdev-del", `{"node-name": "blk0"}`).Fails("GenericError", "Node 'blk0' is busy"),
		qmptest.Expect("blockdev-del", `{"node-name": "blk0-file"}`).Fails("GenericError", "Node 'blk0-file' is busy"),
		qmptest.Expect("blockdev-del", `{"node-name": "blk0"}`),
		qmptest.Expect("blockdev-del", `{"node-name": "blk0-file"}`),
	)
	ctx := testContext(t)
	p, err := hotplug.Plug(ctx, q, "blk0", qemu.VirtioBlk{ID: "blk0", Path: "/img"})
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, p.Unplug(ctx, q), nil, `unplugging "blk0"`, `blockdev-del "blk0"`, `blockdev-del "blk0-file"`)
	if err := p.Unplug(ctx, q); err != nil {
		t.Fatalf("second Unplug: %v", err)
	}
}
