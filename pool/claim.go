package pool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrEmpty: no warm VM took the pod; the front end boots one.
var ErrEmpty = errors.New("no warm VM for this pod")

// answerTimeout bounds the wait for a warm process's answer: it checks the
// pod against its VM (a netns scan, a plan), which takes milliseconds.
const answerTimeout = 10 * time.Second

// Claimed is a warm process that took a pod: it is the pod's per-sandbox
// process from now on, and Conn carries what its role says next.
type Claimed struct {
	Status Status
	Conn   *net.UnixConn
}

// Claim hands req and files to the oldest ready warm process of the pool
// at dir whose VM was booted with req.Digest and that takes the pod. A
// slot whose warm process died is cleaned up on the way; one that another
// claim or a drain holds is skipped. ErrEmpty, with the reasons, when none
// took it.
func Claim(ctx context.Context, dir string, req Request, files []*os.File, log *slog.Logger) (*Claimed, error) {
	slots, err := List(dir)
	if err != nil {
		return nil, err
	}
	var why []string
	for _, st := range slots {
		switch {
		case st.State == StateDead:
			if err := clean(ctx, st.Dir); err != nil {
				log.Warn("cleaning a dead warm VM", "slot", st.Slot, "err", err)
			}
			continue
		case st.State != StateReady:
			continue
		case st.Digest != req.Digest:
			why = append(why, st.Slot+": booted with another configuration or guest")
			continue
		}
		c, err := claimSlot(ctx, st, req, files)
		if err == nil {
			return c, nil
		}
		why = append(why, st.Slot+": "+err.Error())
	}
	if len(why) == 0 {
		return nil, fmt.Errorf("%w: the pool at %s has no ready VM", ErrEmpty, dir)
	}
	return nil, fmt.Errorf("%w: %s", ErrEmpty, strings.Join(why, "; "))
}

// claimSlot tries one slot under its claim lock.
func claimSlot(ctx context.Context, st Status, req Request, files []*os.File) (*Claimed, error) {
	unlock, ok, err := tryLock(st.Dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("being claimed or drained")
	}
	defer unlock()
	conn, err := dialClaim(st)
	if err != nil {
		return nil, err
	}
	dl := time.Now().Add(answerTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	conn.SetDeadline(dl)
	var a answer
	if err := send(conn, req, files); err != nil {
		conn.Close()
		return nil, fmt.Errorf("sending the claim: %w", err)
	}
	if _, err := receive(conn, &a); err != nil {
		conn.Close()
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if !a.Accepted {
		conn.Close()
		return nil, errors.New(a.Reason)
	}
	conn.SetDeadline(time.Time{})
	return &Claimed{Status: st, Conn: conn}, nil
}

// dialClaim connects to a slot's claim socket.
func dialClaim(st Status) (*net.UnixConn, error) {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: filepath.Join(st.Dir, SocketName), Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("dialing: %w", err)
	}
	return conn, nil
}

// errLeftPool: the slot's claim lock is gone, and so is the slot from the
// pool (a claim took it, or it is being stopped).
var errLeftPool = errors.New("the warm VM has left the pool")

// tryLock takes the slot's claim lock if it is free. The warm process made
// the lock file with its slot and removes it when it leaves the pool; a
// claimer never creates it, or a late one could leave a lock file in the
// directory of a slot that left (and that sandbox's delete would find it
// not empty).
func tryLock(dir string) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(filepath.Join(dir, LockName), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, errLeftPool
	}
	if err != nil {
		return nil, false, fmt.Errorf("opening the claim lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("locking the slot: %w", err)
	}
	return func() { f.Close() }, true, nil
}
