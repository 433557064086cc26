package qmp_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

func TestDeviceAdd(t *testing.T) {
	c, _ := start(t,
		qmptest.Expect("device_add", `{"driver": "virtio-net-pci", "id": "nic1", "bus": "rp1", "addr": "0x0",
			"netdev": "net0", "mac": "02:00:00:00:00:01", "mq": true, "vectors": 6}`),
		qmptest.Expect("device_add", `{"driver": "vhost-user-fs-pci", "id": "fs0", "chardev": "vfs", "tag": "share"}`),
		qmptest.Expect("device_add", `{"driver": "virtio-net-pci", "id": "nic1", "bus": "rp1"}`).
			Fails("GenericError", "Duplicate device ID 'nic1'"),
	)
	ctx := testContext(t)
	err := c.DeviceAdd(ctx, qmp.DeviceAddArgs{Driver: "virtio-net-pci", ID: "nic1", Bus: "rp1", Addr: "0x0",
		Props: map[string]any{"netdev": "net0", "mac": "02:00:00:00:00:01", "mq": true, "vectors": 6}})
	if err != nil {
		t.Errorf("DeviceAdd with bus and props: %v", err)
	}
	err = c.DeviceAdd(ctx, qmp.DeviceAddArgs{Driver: "vhost-user-fs-pci", ID: "fs0",
		Props: map[string]any{"chardev": "vfs", "tag": "share"}})
	if err != nil {
		t.Errorf("DeviceAdd without bus: %v", err)
	}
	err = c.DeviceAdd(ctx, qmp.DeviceAddArgs{Driver: "virtio-net-pci", ID: "nic1", Bus: "rp1"})
	wantQMPError(t, err, "device_add", qmp.ClassGenericError)
}

func TestDeviceAddRejectsBadArgs(t *testing.T) {
	c, _ := start(t) // nothing may be sent
	tests := []struct {
		name string
		args qmp.DeviceAddArgs
	}{
		{"no driver", qmp.DeviceAddArgs{ID: "a"}},
		{"no id", qmp.DeviceAddArgs{Driver: "e1000"}},
		{"prop shadows a field", qmp.DeviceAddArgs{Driver: "e1000", ID: "a", Props: map[string]any{"bus": "rp1"}}},
		{"prop does not encode", qmp.DeviceAddArgs{Driver: "e1000", ID: "a", Props: map[string]any{"x": make(chan int)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.DeviceAdd(testContext(t), tt.args); err == nil {
				t.Error("DeviceAdd succeeded")
			}
		})
	}
}

func TestDeviceDelWaitsForEvent(t *testing.T) {
	tests := []struct {
		name string
		step qmptest.Step
	}{
		{"event after reply", qmptest.Expect("device_del", `{"id": "nic1"}`).
			EventAfter("DEVICE_DELETED", `{"path": "/machine/peripheral/nic1/virtio-backend"}`).
			EventAfter("DEVICE_DELETED", `{"device": "other", "path": "/machine/peripheral/other"}`).
			EventAfter("DEVICE_DELETED", `{"device": "nic1", "path": "/machine/peripheral/nic1"}`)},
		// ACPI hotplug can finish before QEMU has sent the reply.
		{"event before reply", qmptest.Expect("device_del", `{"id": "nic1"}`).
			EventBefore("DEVICE_DELETED", `{"device": "nic1", "path": "/machine/peripheral/nic1"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := start(t, tt.step)
			if err := c.DeviceDel(testContext(t), "nic1"); err != nil {
				t.Errorf("DeviceDel: %v", err)
			}
		})
	}
}

func TestDeviceDelEventNeverComes(t *testing.T) {
	c, _ := start(t, qmptest.Expect("device_del", `{"id": "nic1"}`).
		EventAfter("DEVICE_DELETED", `{"device": "other", "path": "/machine/peripheral/other"}`))
	ctx, cancel := context.WithTimeout(testContext(t), 300*time.Millisecond)
	defer cancel()
	err := c.DeviceDel(ctx, "nic1")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `"nic1"`) {
		t.Errorf("DeviceDel = %v, want DeadlineExceeded naming nic1", err)
	}
}

func TestDeviceDelFails(t *testing.T) {
	t.Run("error reply", func(t *testing.T) {
		c, _ := start(t, qmptest.Expect("device_del", `{"id": "nope"}`).Fails("DeviceNotFound", "Device 'nope' not found"))
		wantQMPError(t, c.DeviceDel(testContext(t), "nope"), "device_del", qmp.ClassDeviceNotFound)
	})
	t.Run("QEMU dies while waiting", func(t *testing.T) {
		// RECEIVED after the reply: once seen, DeviceDel waits for the event.
		c, s := start(t, qmptest.Expect("device_del", `{"id": "nic1"}`).EventAfter("RECEIVED", ""))
		ctx := testContext(t)
		errs := goPending(t, c, func() error { return c.DeviceDel(ctx, "nic1") })
		s.Kill()
		wantClosedWithin(t, time.Second, func() error { return <-errs })
	})
	t.Run("no id", func(t *testing.T) {
		c, _ := start(t)
		if err := c.DeviceDel(testContext(t), ""); !errors.Is(err, qmp.ErrInvalidArgs) {
			t.Errorf("DeviceDel(\"\") = %v, want ErrInvalidArgs", err)
		}
	})
}
