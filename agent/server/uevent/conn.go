package uevent

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// kernelGroup is the multicast group the kernel sends uevents to (udev's
// re-broadcasts go to group 2, which the agent does not need).
const kernelGroup = 1

// rcvBuf is large enough to hold a burst of events (a hot-plugged NIC or
// disk emits a dozen); an overflow loses events, which Receive reports.
const rcvBuf = 1 << 20

// ErrOverflow is returned by Receive when the kernel dropped events because
// the socket buffer was full: a caller must re-check whatever it waits for.
var ErrOverflow = errors.New("uevent socket overflowed: events were lost")

// Conn is a socket receiving kernel uevents in the network namespace it was
// opened in.
type Conn struct {
	f *os.File
}

// Dial opens a uevent socket subscribed to the kernel's events.
func Dial() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil, fmt.Errorf("opening uevent socket: %w", err)
	}
	// SO_RCVBUFFORCE needs CAP_NET_ADMIN; fall back to what the limit allows.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvBuf) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvBuf)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: kernelGroup}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("binding uevent socket: %w", err)
	}
	// A non-blocking fd wrapped in os.File joins the runtime poller, so a
	// blocked Receive ends when Close is called.
	return &Conn{f: os.NewFile(uintptr(fd), "uevent")}, nil
}

// Receive blocks until the next event. It returns ErrOverflow when events
// were lost, a wrapped ErrMalformed for a message it cannot parse (the
// connection stays usable after both), and os.ErrClosed after Close.
func (c *Conn) Receive() (Event, error) {
	buf := make([]byte, 64<<10)
	n, err := c.f.Read(buf)
	if errors.Is(err, unix.ENOBUFS) {
		return Event{}, ErrOverflow
	}
	if err != nil {
		return Event{}, fmt.Errorf("receiving uevent: %w", err)
	}
	return Parse(buf[:n])
}

// Close closes the socket, ending a blocked Receive.
func (c *Conn) Close() error { return c.f.Close() }
