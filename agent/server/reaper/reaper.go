package reaper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrStopped is returned by Start once Run has returned: nobody would
// collect the new child's exit.
var ErrStopped = errors.New("reaper stopped")

// ErrRunning is returned by a second call to Run.
var ErrRunning = errors.New("reaper already running")

// Defaults for Options.
const (
	DefaultUnclaimedTTL = time.Minute
	DefaultMaxUnclaimed = 1024
)

// Options bound the memory spent on exits nobody claims (orphans
// re-parented to the agent).
type Options struct {
	// UnclaimedTTL is how long an unclaimed exit is kept for a late
	// Register; zero means DefaultUnclaimedTTL.
	UnclaimedTTL time.Duration
	// MaxUnclaimed is how many unclaimed exits are kept at most; the
	// oldest go first. Zero means DefaultMaxUnclaimed.
	MaxUnclaimed int
}

// Reaper collects the exit of every child of the process and delivers each
// to the callers that registered its pid.
type Reaper struct {
	ttl time.Duration
	max int

	mu        sync.Mutex
	subs      map[int][]chan Exit // guarded by mu
	unclaimed map[int]Exit        // guarded by mu
	running   bool                // guarded by mu
	stopped   bool                // guarded by mu
}

// New returns a Reaper; it collects nothing until Run is called.
func New(opts Options) *Reaper {
	r := &Reaper{
		ttl:       opts.UnclaimedTTL,
		max:       opts.MaxUnclaimed,
		subs:      make(map[int][]chan Exit),
		unclaimed: make(map[int]Exit),
	}
	if r.ttl <= 0 {
		r.ttl = DefaultUnclaimedTTL
	}
	if r.max <= 0 {
		r.max = DefaultMaxUnclaimed
	}
	return r
}

// Run reaps children until ctx is done, then closes every pending
// registration's channel (without a value) and returns ctx.Err(). A Reaper
// runs once.
func (r *Reaper) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.running || r.stopped {
		r.mu.Unlock()
		return ErrRunning
	}
	r.running = true
	r.mu.Unlock()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGCHLD)
	defer signal.Stop(sigs)
	// The tick prunes old unclaimed exits; reaping on it too costs one
	// non-blocking wait4 and guards against any lost SIGCHLD.
	tick := time.NewTicker(max(r.ttl/2, 10*time.Millisecond))
	defer tick.Stop()

	r.reapAll()
	for {
		select {
		case <-ctx.Done():
			r.stop()
			return ctx.Err()
		case <-sigs:
			r.reapAll()
		case <-tick.C:
			r.reapAll()
		}
	}
}

// Start starts cmd and subscribes to its pid atomically: no exit is
// collected while the child is forked, so the child's exit always goes to
// the returned channel, and an unclaimed exit of an earlier process that had
// the same pid is known to be stale and dropped (Register could not tell).
// Never call cmd.Wait (the reaper has taken the status) and do not use
// exec.CommandContext.
func (r *Reaper) Start(cmd *exec.Cmd) (<-chan Exit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return nil, ErrStopped
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid
	delete(r.unclaimed, pid)
	return r.subscribe(pid), nil
}

// Register returns a channel that receives pid's exit once and is then
// closed. An exit collected before Register is delivered at once. Prefer
// Start: a pid registered long after its process was forked may match the
// unclaimed exit of an earlier process that had the same pid. The channel is
// closed without a value when the reaper stops.
func (r *Reaper) Register(pid int) <-chan Exit {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.unclaimed[pid]; ok {
		delete(r.unclaimed, pid)
		ch := make(chan Exit, 1)
		ch <- e
		close(ch)
		return ch
	}
	return r.subscribe(pid)
}

// Unclaimed reports how many collected exits wait for a Register.
func (r *Reaper) Unclaimed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.unclaimed)
}

// subscribe adds a channel for pid. Callers hold mu.
func (r *Reaper) subscribe(pid int) chan Exit {
	ch := make(chan Exit, 1)
	if r.stopped {
		close(ch)
		return ch
	}
	r.subs[pid] = append(r.subs[pid], ch)
	return ch
}

// reapAll collects every exited child without blocking.
func (r *Reaper) reapAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG|syscall.WALL, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			break // ECHILD: no children; 0: none exited yet
		}
		r.deliver(exitFromStatus(pid, ws, now))
	}
	r.prune(now)
}

// deliver hands e to its subscribers or keeps it unclaimed. Callers hold mu.
func (r *Reaper) deliver(e Exit) {
	subs, ok := r.subs[e.Pid]
	if !ok {
		r.unclaimed[e.Pid] = e
		return
	}
	delete(r.subs, e.Pid)
	for _, ch := range subs {
		ch <- e // buffered, and each channel gets one value
		close(ch)
	}
}

// prune drops unclaimed exits older than the TTL, then the oldest ones
// beyond the maximum count. Callers hold mu.
func (r *Reaper) prune(now time.Time) {
	for pid, e := range r.unclaimed {
		if now.Sub(e.At) > r.ttl {
			delete(r.unclaimed, pid)
		}
	}
	for len(r.unclaimed) > r.max {
		oldest := -1
		for pid, e := range r.unclaimed {
			if oldest < 0 || e.At.Before(r.unclaimed[oldest].At) {
				oldest = pid
			}
		}
		delete(r.unclaimed, oldest)
	}
}

// stop closes every pending registration. Callers must not hold mu.
func (r *Reaper) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	for pid, subs := range r.subs {
		for _, ch := range subs {
			close(ch)
		}
		delete(r.subs, pid)
	}
}

// SetSubreaper makes the calling process the reaper of orphaned descendants
// (PR_SET_CHILD_SUBREAPER), as PID 1 is; tests use it to stand in for PID 1.
func SetSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting child subreaper: %w", err)
	}
	return nil
}
