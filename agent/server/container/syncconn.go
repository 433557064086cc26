package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// syncConn is the agent's end of a stage's sync socket.
type syncConn struct {
	c *net.UnixConn
}

// newSyncPair returns the agent's end and the stage's end of a new sync
// socket. Both are close-on-exec; exec.Cmd's ExtraFiles clears the flag in
// the stage only.
func newSyncPair() (*syncConn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("creating sync socket: %w", err)
	}
	f := os.NewFile(uintptr(fds[0]), "sync")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("wrapping sync socket: %w", err)
	}
	return &syncConn{c: c.(*net.UnixConn)}, os.NewFile(uintptr(fds[1]), "sync-stage"), nil
}

// recv reads one message and the descriptor that came with it, if any (the
// caller owns it). It returns io.EOF once the stage's end is closed, which
// happens when the stage execs the user's process or dies.
func (s *syncConn) recv(ctx context.Context) (message, *os.File, error) {
	stop := context.AfterFunc(ctx, func() { s.c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := s.c.ReadMsgUnix(buf, oob)
	f, ferr := fileFromRights(oob[:oobn])
	if ctx.Err() != nil {
		closeIfSet(f)
		return message{}, nil, ctx.Err()
	}
	if errors.Is(err, io.EOF) || err == nil && n == 0 {
		closeIfSet(f)
		return message{}, nil, io.EOF
	}
	if err == nil {
		err = ferr
	}
	if err != nil {
		closeIfSet(f)
		return message{}, nil, fmt.Errorf("reading sync socket: %w", err)
	}
	m, err := decodeMessage(buf[:n])
	if err != nil {
		closeIfSet(f)
		return message{}, nil, err
	}
	return m, f, nil
}

// send writes one message; a datagram on an idle socket never blocks.
func (s *syncConn) send(m message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := s.c.Write(b); err != nil {
		return fmt.Errorf("writing sync socket: %w", err)
	}
	return nil
}

func (s *syncConn) close() error { return s.c.Close() }

// fileFromRights turns the SCM_RIGHTS descriptor in oob, if any, into a
// pollable *os.File (so reads can be cancelled with Close or deadlines).
func fileFromRights(oob []byte) (*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parsing control message: %w", err)
	}
	var f *os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if f != nil {
				unix.Close(fd) // only one is ever sent
				continue
			}
			unix.CloseOnExec(fd)
			if err := unix.SetNonblock(fd, true); err != nil {
				unix.Close(fd)
				return nil, fmt.Errorf("setting pty non-blocking: %w", err)
			}
			f = os.NewFile(uintptr(fd), "pty")
		}
	}
	return f, nil
}

func closeIfSet(f *os.File) {
	if f != nil {
		f.Close()
	}
}
