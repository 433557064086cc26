package qmp_test

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

func TestGetFD(t *testing.T) {
	c, s := start(t,
		qmptest.Expect("getfd", `{"fdname": "tap0"}`).WithFD(),
		qmptest.Expect("closefd", `{"fdname": "tap0"}`),
	)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := testContext(t)
	if err := c.GetFD(ctx, "tap0", w); err != nil {
		t.Fatalf("GetFD: %v", err)
	}
	w.Close() // the server holds its own copy now
	if _, err := s.FD("tap0").WriteString("hello"); err != nil {
		t.Fatalf("writing through the passed descriptor: %v", err)
	}
	s.FD("tap0").Close()
	if got, err := io.ReadAll(r); err != nil || string(got) != "hello" {
		t.Errorf("pipe got %q, %v; want what the server wrote through the passed descriptor", got, err)
	}
	if err := c.CloseFD(ctx, "tap0"); err != nil {
		t.Errorf("CloseFD: %v", err)
	}
}

func TestGetFDNeedsUnixConn(t *testing.T) {
	client, peer := net.Pipe()
	defer peer.Close()
	qmptest.Serve(t, peer) // any command reaching it fails the test
	c, err := qmp.New(testContext(t), client)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer c.Close()
	if err := c.GetFD(testContext(t), "x", os.Stdin); !errors.Is(err, qmp.ErrNotUnixConn) {
		t.Errorf("GetFD over a pipe = %v, want ErrNotUnixConn", err)
	}
}

func TestAddFD(t *testing.T) {
	c, s := start(t,
		qmptest.Expect("add-fd", `{"fdset-id": 1073741830}`).WithFD().Returns(`{"fdset-id": 1073741830, "fd": 21}`),
		qmptest.Expect("add-fd", `{"fdset-id": 7}`).WithFD().Returns(`{"fdset-id": 8, "fd": 22}`),
		qmptest.Expect("remove-fd", `{"fdset-id": 1073741830}`),
	)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	ctx := testContext(t)
	if err := c.AddFD(ctx, 1073741830, w); err != nil {
		t.Fatalf("AddFD: %v", err)
	}
	if s.FD("") == nil {
		t.Error("add-fd came without the descriptor")
	}
	if err := c.AddFD(ctx, 7, w); err == nil || !strings.Contains(err.Error(), "set 8") {
		t.Errorf("AddFD into a set QEMU did not use = %v, want an error naming it", err)
	}
	if err := c.RemoveFD(ctx, 1073741830); err != nil {
		t.Errorf("RemoveFD: %v", err)
	}
	if err := c.AddFD(ctx, -1, w); !errors.Is(err, qmp.ErrInvalidArgs) {
		t.Errorf("AddFD(-1) = %v, want ErrInvalidArgs", err)
	}
}
