package sriovtest

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Forwarded measures a forwarder between two netns: it sends minimal
// Ethernet frames (broadcast, ethertype 0x88b5, 60 bytes) out of link from
// in the netns at fromNS for d, as fast as the socket takes them, and
// returns how many arrived on link to in the netns at toNS per second (the
// forwarder's packet rate, drops excluded) and how many were sent.
func Forwarded(t testing.TB, fromNS, from, toNS, to string, d time.Duration) (pps float64, sent uint64) {
	t.Helper()
	before := RxPackets(t, toNS, to)
	start := time.Now()
	sent, err := blast(fromNS, from, d)
	if err != nil {
		t.Fatal(err)
	}
	// Frames still in the forwarder's queues arrive a moment later.
	time.Sleep(500 * time.Millisecond)
	got := RxPackets(t, toNS, to) - before
	return float64(got) / time.Since(start).Seconds(), sent
}

// RxPackets is the received-packets counter of link name in the netns at
// nsPath.
func RxPackets(t testing.TB, nsPath, name string) uint64 {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Fatalf("link %s in %s: %v", name, nsPath, err)
	}
	return l.Attrs().Statistics.RxPackets
}

// blast sends frames on link name of the netns at nsPath for d.
func blast(nsPath, name string, d time.Duration) (uint64, error) {
	var n uint64
	err := inNetns(nsPath, func() error {
		var err error
		n, err = blastHere(name, d)
		return err
	})
	return n, err
}

// blastHere is blast on a thread in the netns.
func blastHere(name string, d time.Duration) (uint64, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return 0, fmt.Errorf("link %s: %w", name, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0) // protocol 0: send only
	if err != nil {
		return 0, fmt.Errorf("packet socket: %w", err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrLinklayer{Ifindex: l.Attrs().Index, Halen: 6}
	if err := unix.Bind(fd, to); err != nil {
		return 0, fmt.Errorf("binding to %s: %w", name, err)
	}
	frame := make([]byte, 60)
	copy(frame, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(frame[6:], l.Attrs().HardwareAddr)
	binary.BigEndian.PutUint16(frame[12:], 0x88b5)
	var n uint64
	for end := time.Now().Add(d); time.Now().Before(end); {
		for range 64 {
			if _, err := unix.Write(fd, frame); err == nil {
				n++
			}
		}
	}
	return n, nil
}
