package qmp_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/kite-vm/kite/qemu/qmp"
	"github.com/kite-vm/kite/qemu/qmp/qmptest"
)

// FuzzClient feeds arbitrary bytes to a live client after the handshake,
// while a DeviceDel waits for its event and a subscriber listens: the client
// must never panic, and once the peer hangs up every call must end with
// ErrClosed.
func FuzzClient(f *testing.F) {
	f.Add([]byte(`{"return": {}, "id": 1}` + "\n" + `{"event": "DEVICE_DELETED", "data": {"device": "nic1"}}`))
	f.Add([]byte(`{"event": "DEVICE_DELETED", "data": ["nic1"]}{"return": 1, "id": 18446744073709551616}`))
	f.Add([]byte(`{"error": {"class": "X", "desc": "y"}, "id": -1}garbage`))
	f.Fuzz(func(t *testing.T, in []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		client, peer := net.Pipe()
		go playPeer(peer, in)
		c, err := qmp.New(ctx, client)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer c.Close()
		events, stop := c.Subscribe(2)
		defer stop()
		deleted := make(chan error, 1)
		go func() { deleted <- c.DeviceDel(ctx, "nic1") }()
		for range events { // closed when the connection ends
		}
		<-c.Done()
		if !errors.Is(c.Err(), qmp.ErrClosed) {
			t.Fatalf("Err() = %v, want ErrClosed", c.Err())
		}
		if err := <-deleted; err != nil && !errors.Is(err, qmp.ErrClosed) {
			var qe *qmp.Error
			if !errors.As(err, &qe) {
				t.Fatalf("DeviceDel = %v, want nil, a QMP error or ErrClosed", err)
			}
		}
	})
}

// playPeer does the handshake, then writes in and hangs up.
func playPeer(peer net.Conn, in []byte) {
	defer peer.Close()
	io.WriteString(peer, qmptest.Greeting+"\n")
	if _, err := bufio.NewReader(peer).ReadBytes('\n'); err != nil {
		return
	}
	io.WriteString(peer, `{"return": {}, "id": 0}`+"\n")
	peer.Write(in)
}
