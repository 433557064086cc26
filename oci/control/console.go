package control

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// SendConsole sends the terminal's master side to the console socket at
// path, as runc does: one message on a stream unix socket whose data is
// the file's name and whose control message carries the descriptor. The
// caller (containerd, podman, a test) listens on the socket before create.
func SendConsole(path string, master *os.File) error {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("%w: connecting to the console socket: %v", ErrInvalidArgument, err)
	}
	defer conn.Close()
	name := []byte(master.Name())
	if _, _, err := conn.WriteMsgUnix(name, unix.UnixRights(int(master.Fd())), nil); err != nil {
		return fmt.Errorf("sending the terminal to the console socket %s: %w", path, err)
	}
	return nil
}

// ReceiveConsole accepts one connection on ln and returns the terminal
// master it carries: the other end of SendConsole, for callers of kite that
// hold a console socket (tests, `kite run` in a terminal).
func ReceiveConsole(ln *net.UnixListener) (*os.File, error) {
	conn, err := ln.AcceptUnix()
	if err != nil {
		return nil, fmt.Errorf("accepting on the console socket: %w", err)
	}
	defer conn.Close()
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(name, oob)
	if err != nil {
		return nil, fmt.Errorf("reading from the console socket: %w", err)
	}
	fds, err := fdsFromRights(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("console socket message carried %d descriptors, want 1", len(fds))
	}
	// Non-blocking, so the returned file joins Go's poller and read deadlines
	// work on it (a blocking fd ignores them and a Read can hang forever).
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("console socket descriptor: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
