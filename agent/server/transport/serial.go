package transport

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Retry bounds for opening the port: it may not exist yet at boot (ports
// are announced by the host after the driver loads) and a host that went
// away may take a while to come back.
const (
	minRetry = 10 * time.Millisecond
	maxRetry = 250 * time.Millisecond
)

// SerialListener is a net.Listener over one virtio-serial port. Accept
// returns the next host connection once the previous one is closed.
type SerialListener struct {
	sysfs, dev, name string
	log              *slog.Logger

	closed    chan struct{}
	closeOnce sync.Once
	idle      chan struct{} // holds a token while no connection is open
}

// ListenSerial returns a listener on the virtio-serial port called name,
// found under sysfs and opened under dev. log receives retry notes and may
// be nil.
func ListenSerial(sysfs, dev, name string, log *slog.Logger) *SerialListener {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &SerialListener{sysfs: sysfs, dev: dev, name: name, log: log,
		closed: make(chan struct{}), idle: make(chan struct{}, 1)}
	l.idle <- struct{}{}
	return l
}

// Accept waits until the previous connection is closed, then opens the
// port and waits for a host to be connected to it.
func (l *SerialListener) Accept() (net.Conn, error) {
	select {
	case <-l.idle:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	f, err := l.openConnected()
	if err != nil {
		l.idle <- struct{}{}
		return nil, err
	}
	return &portConn{f: f, addr: serialAddr(l.name), release: func() { l.idle <- struct{}{} }}, nil
}

// Close stops Accept; an open connection stays usable until it is closed.
func (l *SerialListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

// Addr returns the port name.
func (l *SerialListener) Addr() net.Addr { return serialAddr(l.name) }

// openConnected opens the port, retrying while it is missing or busy, and
// returns it once a host is connected.
func (l *SerialListener) openConnected() (*os.File, error) {
	delay := minRetry
	logged := false
	for {
		f, err := l.open()
		if err == nil {
			if connected(f) {
				return f, nil
			}
			f.Close()
		} else if !logged {
			l.log.Debug("waiting for the agent port", "port", l.name, "err", err)
			logged = true
		}
		select {
		case <-l.closed:
			return nil, net.ErrClosed
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRetry)
	}
}

func (l *SerialListener) open() (*os.File, error) {
	path, err := FindPort(l.sysfs, l.dev, l.name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("opening agent port %s: %w", path, err)
	}
	return f, nil
}

// connected reports whether a host is on the other end: a virtio-serial
// port (like a tty whose other side is gone) polls POLLHUP while no host
// is connected.
func connected(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var revents int16
	var perr error
	cerr := rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLOUT}}
		_, perr = unix.Poll(fds, 0)
		revents = fds[0].Revents
	})
	return cerr == nil && perr == nil && revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) == 0
}

type serialAddr string

func (a serialAddr) Network() string { return "virtio-serial" }
func (a serialAddr) String() string  { return string(a) }

// portConn is one host connection over the port. Reads end with io.EOF
// when the host disconnects; Close frees the port for the next Accept.
type portConn struct {
	f         *os.File
	addr      net.Addr
	release   func()
	closeOnce sync.Once
}

// Read reports every failure as end of file: whatever went wrong (EIO,
// ENODEV when the port was unplugged), this host connection is over, and
// ttrpc only drops a connection on EOF — on other errors it would keep the
// port open and the next host could never be served.
func (c *portConn) Read(b []byte) (int, error) {
	n, err := c.f.Read(b)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w (reading agent port: %v)", io.EOF, err)
	}
	return n, err
}

func (c *portConn) Write(b []byte) (int, error) { return c.f.Write(b) }

// Close closes the port, which also ends a Write blocked because the host
// left (virtio-serial writes block while no host is connected).
func (c *portConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.f.Close()
		c.release()
	})
	return err
}

func (c *portConn) LocalAddr() net.Addr                { return c.addr }
func (c *portConn) RemoteAddr() net.Addr               { return c.addr }
func (c *portConn) SetDeadline(t time.Time) error      { return c.f.SetDeadline(t) }
func (c *portConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *portConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }
