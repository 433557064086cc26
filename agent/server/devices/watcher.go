package devices

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kite-vm/kite/agent/server/uevent"
)

// ErrTimeout is wrapped by every *TimeoutError.
var ErrTimeout = errors.New("device wait timed out")

// TimeoutError says what did not appear in time.
type TimeoutError struct {
	What  string // e.g. "device at PCI path 02/00"
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s did not appear within %s", e.What, e.After)
}

// Unwrap makes errors.Is(err, ErrTimeout) true.
func (e *TimeoutError) Unwrap() error { return ErrTimeout }

// Watcher wakes waits whenever the kernel reports a device event. It does
// not look at the events: any event is a cue to re-check sysfs, so an event
// that is missed, malformed or about a parent device costs nothing.
type Watcher struct {
	poll time.Duration

	mu      sync.Mutex
	changed chan struct{} // closed and replaced by Notify; guarded by mu
}

// NewWatcher returns a Watcher whose waits also re-check every poll
// interval, for events lost before the socket was open or on overflow.
func NewWatcher(poll time.Duration) *Watcher {
	return &Watcher{poll: poll, changed: make(chan struct{})}
}

// Notify wakes every current wait.
func (w *Watcher) Notify() {
	w.mu.Lock()
	close(w.changed)
	w.changed = make(chan struct{})
	w.mu.Unlock()
}

func (w *Watcher) next() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

// Run feeds the events of conn to Notify until ctx ends (it then closes
// conn) or conn fails.
func (w *Watcher) Run(ctx context.Context, conn *uevent.Conn) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	for {
		_, err := conn.Receive()
		if err != nil && !errors.Is(err, uevent.ErrOverflow) && !errors.Is(err, uevent.ErrMalformed) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		w.Notify()
	}
}

// Wait calls check until it reports true, again after every event and poll
// interval, for at most timeout. An error from check ends the wait. On
// timeout it returns a *TimeoutError naming what.
func (w *Watcher) Wait(ctx context.Context, what string, timeout time.Duration, check func() (bool, error)) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(w.poll)
	defer tick.Stop()
	for {
		changed := w.next() // taken before the check, so no event slips between
		ok, err := check()
		if err != nil || ok {
			return err
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-deadline.C:
			return &TimeoutError{What: what, After: timeout}
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}
