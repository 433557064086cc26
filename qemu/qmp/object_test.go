package qmp_test

import (
	"errors"
	"testing"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

func TestObject(t *testing.T) {
	c, _ := start(t,
		qmptest.Expect("object-add", `{"qom-type": "memory-backend-memfd", "id": "mem1", "size": 268435456, "share": true}`),
		qmptest.Expect("object-del", `{"id": "mem1"}`),
		qmptest.Expect("object-del", `{"id": "used"}`).Fails("GenericError", "object 'used' is in use, can not be deleted"),
	)
	ctx := testContext(t)
	if err := c.ObjectAdd(ctx, qmp.ObjectAddArgs{QOMType: "memory-backend-memfd", ID: "mem1",
		Props: map[string]any{"size": 256 << 20, "share": true}}); err != nil {
		t.Errorf("ObjectAdd: %v", err)
	}
	if err := c.ObjectDel(ctx, "mem1"); err != nil {
		t.Errorf("ObjectDel: %v", err)
	}
	wantQMPError(t, c.ObjectDel(ctx, "used"), "object-del", qmp.ClassGenericError)
}

func TestObjectRejectsBadArgs(t *testing.T) {
	c, _ := start(t)
	ctx := testContext(t)
	for _, args := range []qmp.ObjectAddArgs{
		{ID: "m"},
		{QOMType: "memory-backend-ram"},
		{QOMType: "memory-backend-ram", ID: "m", Props: map[string]any{"qom-type": "x"}},
	} {
		if err := c.ObjectAdd(ctx, args); !errors.Is(err, qmp.ErrInvalidArgs) {
			t.Errorf("ObjectAdd(%+v) = %v, want ErrInvalidArgs", args, err)
		}
	}
	if err := c.ObjectDel(ctx, ""); !errors.Is(err, qmp.ErrInvalidArgs) {
		t.Errorf("ObjectDel(\"\") = %v, want ErrInvalidArgs", err)
	}
}
