package uevent

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/server/internal/nstest"
	"github.com/vishvananda/netlink"
)

// TestIntegrationReceiveVethAdd proves the socket receives the kernel's
// events: a veth created in the test's own netns must show up as "add"
// events of subsystem net.
func TestIntegrationReceiveVethAdd(t *testing.T) {
	ns := nstest.NewNetns(t)
	var conn *Conn
	nstest.In(t, ns, func() {
		var err error
		if conn, err = Dial(); err != nil {
			t.Fatal(err)
		}
	})
	defer conn.Close()

	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "kt-ue0"}, PeerName: "kt-ue1"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatalf("adding veth: %v", err)
	}

	timer := time.AfterFunc(10*time.Second, func() { conn.Close() })
	defer timer.Stop()
	seen := map[string]bool{}
	for !seen["kt-ue0"] || !seen["kt-ue1"] {
		ev, err := conn.Receive()
		if err != nil {
			t.Fatalf("Receive: %v (seen %v)", err, seen)
		}
		if ev.Action == "add" && ev.Subsystem == "net" {
			seen[ev.Env["INTERFACE"]] = true
		}
	}
}

func TestReceiveAfterClose(t *testing.T) {
	conn, err := Dial()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for {
			// Events of the host may arrive first: only an error ends the loop.
			if _, err := conn.Receive(); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	conn.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Receive after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a blocked Receive")
	}
}
