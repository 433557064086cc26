package qmp_test

import (
	"errors"
	"testing"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

func TestChardev(t *testing.T) {
	c, _ := start(t,
		// A client socket must not carry "wait": QEMU 7.2 refuses it.
		qmptest.Expect("chardev-add", `{"id": "vfs", "backend": {"type": "socket", "data": {
			"addr": {"type": "unix", "data": {"path": "/run/vfs.sock"}}, "server": false}}}`),
		qmptest.Expect("chardev-add", `{"id": "agent", "backend": {"type": "socket", "data": {
			"addr": {"type": "unix", "data": {"path": "/run/agent.sock"}}, "server": true, "wait": false}}}`),
		qmptest.Expect("chardev-remove", `{"id": "vfs"}`),
		qmptest.Expect("chardev-remove", `{"id": "busy"}`).Fails("GenericError", "Chardev 'busy' is busy"),
	)
	ctx := testContext(t)
	if err := c.ChardevAdd(ctx, qmp.ChardevSocketArgs{ID: "vfs", Path: "/run/vfs.sock"}); err != nil {
		t.Errorf("ChardevAdd client: %v", err)
	}
	if err := c.ChardevAdd(ctx, qmp.ChardevSocketArgs{ID: "agent", Path: "/run/agent.sock", Server: true}); err != nil {
		t.Errorf("ChardevAdd server: %v", err)
	}
	if err := c.ChardevRemove(ctx, "vfs"); err != nil {
		t.Errorf("ChardevRemove: %v", err)
	}
	wantQMPError(t, c.ChardevRemove(ctx, "busy"), "chardev-remove", qmp.ClassGenericError)
}

func TestChardevRejectsBadArgs(t *testing.T) {
	c, _ := start(t)
	ctx := testContext(t)
	for _, args := range []qmp.ChardevSocketArgs{
		{Path: "/p"},
		{ID: "c"},
		{ID: "c", Path: "/p", Wait: true}, // wait without server
	} {
		if err := c.ChardevAdd(ctx, args); !errors.Is(err, qmp.ErrInvalidArgs) {
			t.Errorf("ChardevAdd(%+v) = %v, want ErrInvalidArgs", args, err)
		}
	}
	if err := c.ChardevRemove(ctx, ""); !errors.Is(err, qmp.ErrInvalidArgs) {
		t.Errorf("ChardevRemove(\"\") = %v, want ErrInvalidArgs", err)
	}
}
