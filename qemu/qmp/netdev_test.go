package qmp_test

import (
	"errors"
	"testing"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

func TestNetdev(t *testing.T) {
	c, _ := start(t,
		qmptest.Expect("netdev_add", `{"type": "tap", "id": "net0", "fd": "tapfd0", "vhost": false}`),
		qmptest.Expect("netdev_add", `{"type": "vhost-user", "id": "vu0", "chardev": "c0", "queues": 2}`),
		qmptest.Expect("netdev_del", `{"id": "net0"}`),
		qmptest.Expect("netdev_del", `{"id": "gone"}`).Fails("GenericError", "Device 'gone' not found"),
	)
	ctx := testContext(t)
	if err := c.NetdevAdd(ctx, qmp.NetdevAddArgs{Type: "tap", ID: "net0",
		Props: map[string]any{"fd": "tapfd0", "vhost": false}}); err != nil {
		t.Errorf("NetdevAdd tap: %v", err)
	}
	if err := c.NetdevAdd(ctx, qmp.NetdevAddArgs{Type: "vhost-user", ID: "vu0",
		Props: map[string]any{"chardev": "c0", "queues": 2}}); err != nil {
		t.Errorf("NetdevAdd vhost-user: %v", err)
	}
	if err := c.NetdevDel(ctx, "net0"); err != nil {
		t.Errorf("NetdevDel: %v", err)
	}
	wantQMPError(t, c.NetdevDel(ctx, "gone"), "netdev_del", qmp.ClassGenericError)
}

func TestNetdevRejectsBadArgs(t *testing.T) {
	c, _ := start(t)
	ctx := testContext(t)
	for _, args := range []qmp.NetdevAddArgs{
		{ID: "n"},
		{Type: "tap"},
		{Type: "tap", ID: "n", Props: map[string]any{"id": "other"}},
	} {
		if err := c.NetdevAdd(ctx, args); !errors.Is(err, qmp.ErrInvalidArgs) {
			t.Errorf("NetdevAdd(%+v) = %v, want ErrInvalidArgs", args, err)
		}
	}
	if err := c.NetdevDel(ctx, ""); !errors.Is(err, qmp.ErrInvalidArgs) {
		t.Errorf("NetdevDel(\"\") = %v, want ErrInvalidArgs", err)
	}
}
