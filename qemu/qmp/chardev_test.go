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
		qmptest.Expect("chardev-add", `{"id": "agent2", "backend": {"type": "socket", "data": {
			"addr": {"type": "unix", "data": {"path": "/run/agent.sock"}}, "server": false, "reconnect": 1}}}`),
		qmptest.Expect("chardev-add", `{"id": "fs1", "backend": {"type": "socket", "data": {
			"addr": {"type": "fd", "data": {"str": "fs1-fd0"}}, "server": false}}}`),
		qmptest.Expect("chardev-add", `{"id": "log", "backend": {"type": "file", "data": {"out": "/run/a,b.log"}}}`),
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
	if err := c.ChardevAdd(ctx, qmp.ChardevSocketArgs{ID: "agent2", Path: "/run/agent.sock", Reconnect: 1}); err != nil {
		t.Errorf("ChardevAdd client with reconnect: %v", err)
	}
	if err := c.ChardevAdd(ctx, qmp.ChardevSocketArgs{ID: "fs1", FD: "fs1-fd0"}); err != nil {
		t.Errorf("ChardevAdd client on a passed fd: %v", err)
	}
	if err := c.ChardevAddFile(ctx, qmp.ChardevFileArgs{ID: "log", Path: "/run/a,b.log"}); err != nil {
		t.Errorf("ChardevAddFile: %v", err)
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
		{ID: "c", Path: "/p", Server: true, Reconnect: 1}, // reconnect on a server
		{ID: "c", Path: "/p", Reconnect: -1},
		{ID: "c", Path: "/p", FD: "c-fd0"},   // both
		{ID: "c", FD: "c-fd0", Reconnect: 1}, // an fd cannot reconnect
	} {
		if err := c.ChardevAdd(ctx, args); !errors.Is(err, qmp.ErrInvalidArgs) {
			t.Errorf("ChardevAdd(%+v) = %v, want ErrInvalidArgs", args, err)
		}
	}
	for _, args := range []qmp.ChardevFileArgs{{Path: "/p"}, {ID: "c"}} {
		if err := c.ChardevAddFile(ctx, args); !errors.Is(err, qmp.ErrInvalidArgs) {
			t.Errorf("ChardevAddFile(%+v) = %v, want ErrInvalidArgs", args, err)
		}
	}
	if err := c.ChardevRemove(ctx, ""); !errors.Is(err, qmp.ErrInvalidArgs) {
		t.Errorf("ChardevRemove(\"\") = %v, want ErrInvalidArgs", err)
	}
}
