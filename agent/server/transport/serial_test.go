package transport

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/kite-vm/kite/agent/server/internal/porttest"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func serveEcho(t *testing.T, l net.Listener) {
	t.Helper()
	srv, err := ttrpc.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterService("test.Echo", &ttrpc.ServiceDesc{Methods: map[string]ttrpc.Method{
		"Echo": func(ctx context.Context, unmarshal func(any) error) (any, error) {
			var req wrapperspb.StringValue
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return &req, nil
		},
	}})
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(context.Background(), l) }()
	t.Cleanup(func() { srv.Close(); <-done })
}

func echo(t *testing.T, c *ttrpc.Client, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var resp wrapperspb.StringValue
	if err := c.Call(ctx, "test.Echo", "Echo", wrapperspb.String(msg), &resp); err != nil {
		t.Fatalf("Echo(%q): %v", msg, err)
	}
	if resp.Value != msg {
		t.Fatalf("Echo(%q) = %q", msg, resp.Value)
	}
}

func TestSerialListenerServesNextHostAfterDisconnect(t *testing.T) {
	sysfs, dev := t.TempDir(), t.TempDir()
	porttest.Announce(t, sysfs, "agent0")
	host1 := porttest.ConnectHost(t, dev)
	l := ListenSerial(sysfs, dev, "agent0", nil)
	serveEcho(t, l)

	c1 := ttrpc.NewClient(porttest.Conn{File: host1})
	echo(t, c1, "first host")

	// The host dies in the middle of a request: a frame header announcing
	// 100 bytes, then only 10 of them.
	hdr := make([]byte, 10)
	binary.BigEndian.PutUint32(hdr[0:4], 100)
	binary.BigEndian.PutUint32(hdr[4:8], 3)
	hdr[8] = 1 // request
	if _, err := host1.Write(append(hdr, make([]byte, 10)...)); err != nil {
		t.Fatal(err)
	}
	c1.Close() // closes host1: the guest end reads EOF

	host2 := porttest.ConnectHost(t, dev)
	c2 := ttrpc.NewClient(porttest.Conn{File: host2})
	defer c2.Close()
	echo(t, c2, "second host")
	echo(t, c2, "and again")
}

func TestSerialListenerWaitsForPortAndHost(t *testing.T) {
	sysfs, dev := t.TempDir(), t.TempDir()
	l := ListenSerial(sysfs, dev, "agent0", nil)
	serveEcho(t, l)
	time.Sleep(30 * time.Millisecond) // Accept retries: the port is not there yet

	porttest.Announce(t, sysfs, "agent0")
	host := porttest.ConnectHost(t, dev)
	c := ttrpc.NewClient(porttest.Conn{File: host})
	defer c.Close()
	echo(t, c, "late port")
}

func TestSerialListenerClose(t *testing.T) {
	l := ListenSerial(t.TempDir(), t.TempDir(), "agent0", nil)
	done := make(chan error, 1)
	go func() { _, err := l.Accept(); done <- err }()
	time.Sleep(20 * time.Millisecond)
	l.Close()
	select {
	case err := <-done:
		if err != net.ErrClosed {
			t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end Accept")
	}
}

func TestConnectedFollowsHangup(t *testing.T) {
	sysfs, dev := t.TempDir(), t.TempDir()
	porttest.Announce(t, sysfs, "agent0")
	host := porttest.ConnectHost(t, dev)
	guest, err := os.OpenFile(filepath.Join(dev, porttest.Node), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer guest.Close()
	if !connected(guest) {
		t.Error("connected() = false with the host end open")
	}
	host.Close()
	if connected(guest) {
		t.Error("connected() = true after the host end closed")
	}
}
