package fsshare

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kite-vm/kite/internal/fdclose"
	"github.com/kite-vm/kite/internal/filetail"
	"github.com/kite-vm/kite/internal/tether"
	"golang.org/x/sys/unix"
)

// pollInterval paces waiting for a socket file: short against a start that
// takes a few milliseconds, long enough not to spin.
const pollInterval = 5 * time.Millisecond

// Virtiofsd is a running (or exited) virtiofsd started by StartVirtiofsd.
type Virtiofsd struct {
	plan     VirtiofsdPlan
	cmd      *exec.Cmd
	logStart int64 // where this run's output begins in the log
	done     chan struct{}
	exitErr  error // written once before done is closed
}

// StartVirtiofsd runs virtiofsd as our child, in its own process group (so
// that stopping it reaches the process it forks into its sandbox, and a
// signal to our terminal's group does not), with its output appended to
// p.LogPath. It returns once virtiofsd's socket exists, which is when QEMU may
// connect to it. If virtiofsd exits first, or ctx ends first (it is then
// killed), the error carries the tail of its log.
//
// Readiness is the socket file, not a connection: virtiofsd serves a single
// vhost-user connection and exits when it closes, so a probe would end it.
func StartVirtiofsd(ctx context.Context, p VirtiofsdPlan) (*Virtiofsd, error) {
	// A socket left by an earlier run must not be taken for ours.
	if err := os.Remove(p.SocketPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing stale virtiofsd socket %q: %w", p.SocketPath, err)
	}
	log, err := os.OpenFile(p.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("opening virtiofsd log: %w", err)
	}
	defer log.Close() // the child has its own copy
	st, err := log.Stat()
	if err != nil {
		return nil, fmt.Errorf("opening virtiofsd log: %w", err)
	}
	cmd := exec.Command(p.Binary, p.Args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// No descriptor of ours but stdio reaches virtiofsd, even one inherited
	// without close-on-exec by the process that started us.
	if err := fdclose.OnExec(); err != nil {
		return nil, fmt.Errorf("starting virtiofsd %q: %w", p.Binary, err)
	}
	// Tethered: it dies with the process that owns the sandbox, and so
	// never runs on unseen after that process was killed.
	if err := tether.Start(cmd); err != nil {
		return nil, fmt.Errorf("starting virtiofsd %q: %w", p.Binary, err)
	}
	v := &Virtiofsd{plan: p, cmd: cmd, logStart: st.Size(), done: make(chan struct{})}
	go v.reap()
	if err := v.waitSocket(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *Virtiofsd) reap() {
	v.exitErr = v.cmd.Wait()
	close(v.done)
}

func (v *Virtiofsd) waitSocket(ctx context.Context) error {
	var bound time.Time // when the socket file appeared
	for {
		if st, err := os.Stat(v.plan.SocketPath); err == nil && st.Mode()&fs.ModeSocket != 0 {
			if bound.IsZero() {
				bound = time.Now()
			}
			// listen(2) follows bind(2) at once: should the table not say
			// so (a thread in another netns reads another table), the
			// file must do after a while.
			if listening(unixTable, v.plan.SocketPath) || time.Since(bound) > listenWait {
				return nil
			}
		}
		select {
		case <-v.done:
			return fmt.Errorf("%w before serving %s: %v\nvirtiofsd output:\n%s", ErrVirtiofsdExited, v.plan.SocketPath, v.exitErr, indent(v.LogTail(4096)))
		case <-ctx.Done():
			v.signalGroup(unix.SIGKILL)
			<-v.done
			v.removeFiles()
			return fmt.Errorf("waiting for virtiofsd socket %s: %w\nvirtiofsd output:\n%s", v.plan.SocketPath, ctx.Err(), indent(v.LogTail(4096)))
		case <-time.After(pollInterval):
		}
	}
}

// unixTable is the calling thread's network namespace's unix sockets: a
// thread of this process may have been moved to a pod's netns, and
// /proc/net follows the thread group leader's.
const unixTable = "/proc/thread-self/net/unix"

// listenWait bounds the wait for a bound socket to show as listening.
const listenWait = time.Second

// listening reports whether a unix socket bound at path listens, from the
// kernel's table (proc(5) /proc/net/unix: Flags __SO_ACCEPTCON, 0x10000).
// The file appears at bind(2), a moment before listen(2), and a QEMU that
// connects in between is refused; a probe connection is no way to tell,
// since virtiofsd serves one connection and exits when it closes.
func listening(table, path string) bool {
	data, err := os.ReadFile(table)
	if err != nil {
		return true // no table to read: the file's existence must do
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) < 8 || f[7] != path {
			continue
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err == nil && flags&0x10000 != 0 {
			return true
		}
	}
	return false
}

// Pid is virtiofsd's process id (its process group id too).
func (v *Virtiofsd) Pid() int { return v.cmd.Process.Pid }

// Plan is the plan virtiofsd was started from.
func (v *Virtiofsd) Plan() VirtiofsdPlan { return v.plan }

// Done is closed when virtiofsd has exited and been reaped. Once the VM runs,
// that means its share is gone: the guest's file operations on it hang or
// fail, and the sandbox is degraded.
func (v *Virtiofsd) Done() <-chan struct{} { return v.done }

// ExitErr is how virtiofsd ended (nil for status 0), or nil while it runs.
func (v *Virtiofsd) ExitErr() error {
	select {
	case <-v.done:
		return v.exitErr
	default:
		return nil
	}
}

// deathLogBytes of a dead virtiofsd's log go into Death.
const deathLogBytes = 512

// Death says that virtiofsd died, how, and the last lines of its log, for
// a virtiofsd that exited under a VM. It matches ErrVirtiofsdExited.
func (v *Virtiofsd) Death() error {
	msg := fmt.Sprintf("virtiofsd of share %q exited (%v): the guest can no longer reach its files", v.plan.Tag, v.ExitErr())
	if tail := filetail.LastLines(v.LogTail(deathLogBytes), 3); tail != "" {
		msg += "; its log ends: " + tail
	}
	return deathError(msg)
}

// deathError is a Death message that matches ErrVirtiofsdExited.
type deathError string

func (e deathError) Error() string        { return string(e) }
func (e deathError) Is(target error) bool { return target == ErrVirtiofsdExited }

// LogTail returns up to the last n bytes virtiofsd wrote in this run.
func (v *Virtiofsd) LogTail(n int) string { return filetail.Read(v.plan.LogPath, v.logStart, n) }

// Stop ends virtiofsd: SIGTERM to its process group, SIGKILL after term,
// then waits for the exit as long as ctx allows. It removes the socket and
// virtiofsd's lock file once virtiofsd is gone. Stopping an exited virtiofsd
// only removes the files.
func (v *Virtiofsd) Stop(ctx context.Context, term time.Duration) error {
	if !v.exited() {
		v.signalGroup(unix.SIGTERM)
		tctx, cancel := context.WithTimeout(ctx, term)
		v.wait(tctx)
		cancel()
		if !v.exited() {
			v.signalGroup(unix.SIGKILL)
			if !v.wait(ctx) {
				return fmt.Errorf("stopping virtiofsd %d for share %q: %w", v.Pid(), v.plan.Tag, ctx.Err())
			}
		}
	}
	return v.removeFiles()
}

// signalGroup signals the whole group, while its leader has not been reaped:
// after that the group id could name someone else's group.
func (v *Virtiofsd) signalGroup(sig unix.Signal) {
	if !v.exited() {
		_ = unix.Kill(-v.Pid(), sig) // ESRCH: gone meanwhile
	}
}

func (v *Virtiofsd) wait(ctx context.Context) bool {
	select {
	case <-v.done:
		return true
	case <-ctx.Done():
		return v.exited()
	}
}

func (v *Virtiofsd) exited() bool {
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

// removeFiles removes what virtiofsd leaves behind when it exits: its socket
// and the lock file in its state directory.
func (v *Virtiofsd) removeFiles() error {
	var errs []error
	if err := os.Remove(v.plan.SocketPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	// The state directory is root's: when we may not write there, neither
	// could virtiofsd, which runs as us, so there is no lock file of ours.
	if v.plan.LockFile != "" {
		err := os.Remove(v.plan.LockFile)
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "  (empty)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
