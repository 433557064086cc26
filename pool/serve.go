package pool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// Fit says whether the warm process takes a claim: nil, or why not.
type Fit func(req Request, files []*os.File) error

// Accepted is the claim a warm process took.
type Accepted struct {
	Request Request
	Files   []*os.File
	Conn    *net.UnixConn
}

// Serve listens on the slot's claim socket and answers each claim with
// fit's verdict until one fits, which it returns, with the slot out of
// the pool. It ends with ctx's error (a drain) or when stop is closed
// (the VM died).
func (s *Slot) Serve(ctx context.Context, stop <-chan struct{}, fit Fit) (*Accepted, error) {
	path := filepath.Join(s.Dir, SocketName)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening for claims: %w", err)
	}
	defer ln.Close()
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		ln.Close()
	}()
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			select {
			case <-stop:
				return nil, errors.New("the warm VM died")
			default:
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("accepting claims: %w", err)
		}
		acc, err := s.answer(conn, fit)
		if acc != nil {
			return acc, err // taken, even if its files could not all go
		}
		conn.Close()
		if errors.Is(err, errLeft) {
			return nil, err
		}
	}
}

// errLeft marks a claim that failed after the slot left the pool: the
// warm process has nothing more to serve.
var errLeft = errors.New("the warm VM left the pool for a claim that failed")

// answer reads one claim and answers it. The slot leaves the pool before
// the claimer hears yes: a claimer that refills the pool right after must
// not count it, and the claimer holds the claim lock until then, so nobody
// else reaches the slot meanwhile.
func (s *Slot) answer(conn *net.UnixConn, fit Fit) (*Accepted, error) {
	var req Request
	files, err := receive(conn, &req)
	if err != nil {
		return nil, err
	}
	if err := fit(req, files); err != nil {
		closeFiles(files)
		return nil, send(conn, answer{Reason: err.Error()}, nil)
	}
	leaveErr := s.Leave()
	if err := send(conn, answer{Accepted: true}, nil); err != nil {
		closeFiles(files)
		return nil, fmt.Errorf("%w: %w", errLeft, errors.Join(err, leaveErr))
	}
	return &Accepted{Request: req, Files: files, Conn: conn}, leaveErr
}
