package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// maxSocketPath is the room for a path in sockaddr_un.sun_path, less the
// terminating NUL.
const maxSocketPath = 107

// ErrSocketPathTooLong: the kernel cannot bind a unix socket at that path.
var ErrSocketPathTooLong = errors.New("unix socket path too long")

// SerialListener is the host end of the virtio-serial transport. The host
// listens and QEMU connects as a client (-chardev socket,server=off), so the
// socket exists before QEMU starts and nothing is lost in between: what the
// host sends before the guest opens its port waits in the socket.
type SerialListener struct {
	ln   *net.UnixListener
	path string
}

// ListenSerial creates the unix socket QEMU's agent chardev will connect
// to. The path must not exist; the socket is made accessible to the owner
// only.
func ListenSerial(path string) (*SerialListener, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("listening on %q: %w (%d bytes, at most %d)", path, ErrSocketPathTooLong, len(path), maxSocketPath)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening on %q: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restricting %q to its owner: %w", path, err)
	}
	return &SerialListener{ln: ln, path: path}, nil
}

// Path returns the socket's path, for QEMU's -chardev socket,path=.
func (l *SerialListener) Path() string { return l.path }

// Accept waits for QEMU to connect, or for ctx to end. Call it from one
// goroutine at a time.
func (l *SerialListener) Accept(ctx context.Context) (net.Conn, error) {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		// A deadline in the past wakes the blocked accept.
		l.ln.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	conn, err := l.ln.AcceptUnix()
	if !stop() {
		<-fired
		l.ln.SetDeadline(time.Time{})
	}
	if err == nil {
		return conn, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("waiting for QEMU to connect to %q: %w", l.path, ctx.Err())
	}
	return nil, fmt.Errorf("waiting for QEMU to connect to %q: %w", l.path, err)
}

// Close stops listening and removes the socket file. Connections already
// accepted stay open.
func (l *SerialListener) Close() error {
	if err := l.ln.Close(); err != nil {
		return fmt.Errorf("closing %q: %w", l.path, err)
	}
	return nil
}
