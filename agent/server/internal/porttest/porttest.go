// Package porttest fakes a virtio-serial port for tests with a
// pseudo-terminal: its slave behaves like the guest end of the port (reads
// end and poll reports POLLHUP when the other side goes away) and its
// master is the host. The port is announced in a fake sysfs as
// class/virtio-ports/vport0p1 and its node is a symlink in a fake /dev.
package porttest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/creack/pty"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
	"golang.org/x/sys/unix"
)

// Node is the port's device node name under the fake /dev.
const Node = "vport0p1"

// Announce makes the port called name visible in the fake sysfs.
func Announce(t testing.TB, sysfs, name string) {
	t.Helper()
	sysfstest.File(t, sysfs, "class/virtio-ports/"+Node+"/name", name+"\n")
}

// ConnectHost makes a new host connection: a fresh pty whose slave the
// port node under dev now points at. It returns the host end, closed at
// the end of the test.
func ConnectHost(t testing.TB, dev string) *os.File {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("opening a pty: %v", err)
	}
	t.Cleanup(func() { slave.Close() })
	makeRaw(t, slave)
	host := pollable(t, master)
	t.Cleanup(func() { host.Close() })
	tmp := filepath.Join(dev, Node+".new")
	if err := os.Symlink(slave.Name(), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dev, Node)); err != nil {
		t.Fatal(err)
	}
	return host
}

// makeRaw turns off the line discipline so bytes pass unchanged, as on a
// virtio-serial port.
func makeRaw(t testing.TB, f *os.File) {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
}

// pollable returns a non-blocking copy of f and closes f: pty.Open has put
// its master into blocking mode (through Fd), where Close cannot interrupt
// a blocked Read and so never hangs the line up.
func pollable(t testing.TB, f *os.File) *os.File {
	t.Helper()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fd), "ptmx")
}

// Conn adapts the host end to the net.Conn a ttrpc client needs.
type Conn struct{ *os.File }

// LocalAddr implements net.Conn.
func (Conn) LocalAddr() net.Addr { return addr("host") }

// RemoteAddr implements net.Conn.
func (Conn) RemoteAddr() net.Addr { return addr("guest") }

type addr string

func (a addr) Network() string { return "pty" }
func (a addr) String() string  { return string(a) }
