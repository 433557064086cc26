package qmp

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"
)

type fdNameArgs struct {
	FDName string `json:"fdname"`
}

// GetFD passes f's descriptor to QEMU under name (QMP getfd), for commands
// that take a descriptor by name, e.g. a tap netdev's fd. The descriptor
// travels with the command itself (SCM_RIGHTS), so the connection must be a
// *net.UnixConn. QEMU holds its own duplicate: the caller may close f once
// GetFD returns.
func (c *Client) GetFD(ctx context.Context, name string, f *os.File) error {
	if _, ok := c.conn.(*net.UnixConn); !ok {
		return fmt.Errorf("passing fd %q: %w (have %T)", name, ErrNotUnixConn, c.conn)
	}
	if f == nil {
		return fmt.Errorf("passing fd %q: %w: nil file", name, ErrInvalidArgs)
	}
	call, err := c.send(ctx, "getfd", fdNameArgs{name}, f)
	if err != nil {
		return err
	}
	return c.await(ctx, call, nil)
}

// CloseFD closes the descriptor QEMU holds under name (QMP closefd). Commands
// that consumed the descriptor (netdev_add) took it already; CloseFD is for
// one passed but not used.
func (c *Client) CloseFD(ctx context.Context, name string) error {
	return c.Execute(ctx, "closefd", fdNameArgs{name}, nil)
}

// writeWithFile writes b with f's descriptor attached to its first byte.
func writeWithFile(conn net.Conn, b []byte, f *os.File) (int, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0, ErrNotUnixConn
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("getting descriptor of %s: %w", f.Name(), err)
	}
	var n int
	var werr error
	// Control keeps the descriptor open while it is being sent.
	err = rc.Control(func(fd uintptr) {
		n, _, werr = uc.WriteMsgUnix(b, syscall.UnixRights(int(fd)), nil)
	})
	if err != nil {
		return 0, fmt.Errorf("getting descriptor of %s: %w", f.Name(), err)
	}
	if werr == nil && n < len(b) { // a stream socket may take part of it
		var m int
		m, werr = uc.Write(b[n:])
		n += m
	}
	return n, werr
}

type addFDArgs struct {
	FDSetID int64 `json:"fdset-id"`
}

type addFDReply struct {
	FDSetID int64 `json:"fdset-id"`
	FD      int64 `json:"fd"`
}

// AddFD passes f's descriptor into QEMU's fd set id (QMP add-fd), from
// which a backend opens it as /dev/fdset/<id> (qemu.FDSetPath). As with
// GetFD the descriptor travels with the command; the caller may close f
// once AddFD returns.
func (c *Client) AddFD(ctx context.Context, id int64, f *os.File) error {
	if _, ok := c.conn.(*net.UnixConn); !ok {
		return fmt.Errorf("adding fd set %d: %w (have %T)", id, ErrNotUnixConn, c.conn)
	}
	if f == nil || id < 0 {
		return fmt.Errorf("adding fd set %d: %w: want a file and a set id >= 0", id, ErrInvalidArgs)
	}
	call, err := c.send(ctx, "add-fd", addFDArgs{id}, f)
	if err != nil {
		return err
	}
	var r addFDReply
	if err := c.await(ctx, call, &r); err != nil {
		return err
	}
	if r.FDSetID != id {
		return fmt.Errorf("adding fd set %d: QEMU put the descriptor in set %d", id, r.FDSetID)
	}
	return nil
}

// RemoveFD removes fd set id's descriptors (QMP remove-fd): QEMU closes
// each once no backend holds a duplicate of it.
func (c *Client) RemoveFD(ctx context.Context, id int64) error {
	return c.Execute(ctx, "remove-fd", addFDArgs{id}, nil)
}
