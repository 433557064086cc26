package qmp_test

import (
	"errors"
	"testing"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

func TestBlockdev(t *testing.T) {
	c, _ := start(t,
		qmptest.Expect("blockdev-add", `{"driver": "file", "node-name": "d0-file", "filename": "/img",
			"aio": "native", "cache": {"direct": true}}`),
		qmptest.Expect("blockdev-add", `{"driver": "raw", "node-name": "d0", "file": "d0-file"}`),
		qmptest.Expect("blockdev-del", `{"node-name": "d0"}`),
		qmptest.Expect("blockdev-del", `{"node-name": "used"}`).Fails("GenericError", "Node 'used' is busy: block device is in use by device"),
	)
	ctx := testContext(t)
	if err := c.BlockdevAdd(ctx, qmp.BlockdevAddArgs{Driver: "file", NodeName: "d0-file", Props: map[string]any{
		"filename": "/img", "aio": "native", "cache": map[string]any{"direct": true}}}); err != nil {
		t.Errorf("BlockdevAdd file: %v", err)
	}
	if err := c.BlockdevAdd(ctx, qmp.BlockdevAddArgs{Driver: "raw", NodeName: "d0", Props: map[string]any{"file": "d0-file"}}); err != nil {
		t.Errorf("BlockdevAdd raw: %v", err)
	}
	if err := c.BlockdevDel(ctx, "d0"); err != nil {
		t.Errorf("BlockdevDel: %v", err)
	}
	wantQMPError(t, c.BlockdevDel(ctx, "used"), "blockdev-del", qmp.ClassGenericError)
}

func TestBlockdevRejectsBadArgs(t *testing.T) {
	c, _ := start(t) // nothing may be sent
	ctx := testContext(t)
	for _, args := range []qmp.BlockdevAddArgs{
		{NodeName: "n"},
		{Driver: "raw"},
		{Driver: "raw", NodeName: "n", Props: map[string]any{"node-name": "other"}},
	} {
		if err := c.BlockdevAdd(ctx, args); !errors.Is(err, qmp.ErrInvalidArgs) {
			t.Errorf("BlockdevAdd(%+v) = %v, want ErrInvalidArgs", args, err)
		}
	}
	if err := c.BlockdevDel(ctx, ""); !errors.Is(err, qmp.ErrInvalidArgs) {
		t.Errorf("BlockdevDel(\"\") = %v, want ErrInvalidArgs", err)
	}
}
