package oci

import (
	"context"
	"fmt"
	"github.com/kite-vm/kite/sandbox"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/spec"
	"golang.org/x/sys/unix"
)

// hostTerminal is the host pty of a container that runs on a terminal. The
// guest's pty does the line discipline, so the host side is raw: it only
// carries bytes and the window size between the caller, who holds the
// master, and the agent.
type hostTerminal struct {
	master *os.File // sent to the console socket, then closed here
	slave  *os.File // the sandbox process's end
}

// openTerminal allocates a raw host pty. With controlling set, the slave
// becomes the calling process's controlling terminal (it must be a session
// leader without one), so that a resize by the master's holder reaches it
// as SIGWINCH instead of having to be polled.
func openTerminal(controlling bool) (*hostTerminal, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("allocating a pseudo-terminal: %w", err)
	}
	t := &hostTerminal{master: master, slave: slave}
	if err := makeRaw(slave); err != nil {
		t.close()
		return nil, err
	}
	if controlling {
		if err := unix.IoctlSetInt(int(slave.Fd()), unix.TIOCSCTTY, 0); err != nil {
			t.close()
			return nil, fmt.Errorf("making the pseudo-terminal the controlling terminal: %w", err)
		}
	}
	return t, nil
}

// NewConsole allocates a raw host terminal for a process, sends its master
// to the console socket at path (runc's protocol) and returns the slave,
// which becomes the process's stdio.
func NewConsole(path string) (*os.File, error) {
	t, err := openTerminal(false)
	if err != nil {
		return nil, err
	}
	if err := control.SendConsole(path, t.master); err != nil {
		t.close()
		return nil, err
	}
	t.master.Close() // the caller holds it now
	return t.slave, nil
}

func (t *hostTerminal) close() {
	for _, f := range []*os.File{t.master, t.slave} {
		if f != nil {
			f.Close()
		}
	}
}

// size returns the terminal's window size, nil while it is unset (0x0).
func (t *hostTerminal) size() *spec.ConsoleSize {
	return consoleSize(t.slave)
}

// consoleSize returns f's window size if it is a terminal with a size set.
func consoleSize(f *os.File) *spec.ConsoleSize {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row == 0 || ws.Col == 0 {
		return nil
	}
	return &spec.ConsoleSize{Height: ws.Row, Width: ws.Col}
}

// makeRaw turns off the host pty's line discipline (cfmakeraw).
func makeRaw(f *os.File) error {
	_, err := MakeRaw(f)
	return err
}

// MakeRaw puts the terminal f in raw mode (cfmakeraw), for a caller that
// relays a container's terminal through its own, and returns the function
// that restores the previous mode.
func MakeRaw(f *os.File) (restore func() error, err error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("reading terminal attributes: %w", err)
	}
	t := *old
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, fmt.Errorf("setting terminal attributes: %w", err)
	}
	return func() error { return unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// watchResize forwards the window size of the terminal to the guest. The
// slave is the process's controlling terminal, so the kernel sends SIGWINCH
// when the holder of the master resizes it.
func (d *daemon) watchResize() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	go func() {
		for range ch {
			sz := d.term.size()
			if sz == nil {
				continue
			}
			if _, done := d.c.Init().Exit(); done {
				continue
			}
			if err := resize(d.c.Init(), *sz); err != nil {
				d.log.Warn("resizing the terminal", "err", err)
			}
		}
	}()
}

// resizeWait bounds the guest's answer to a resize.
const resizeWait = 5 * time.Second

// resize sets the size of p's terminal in the guest.
func resize(p *sandbox.Process, sz spec.ConsoleSize) error {
	ctx, cancel := context.WithTimeout(context.Background(), resizeWait)
	defer cancel()
	return p.ResizeTerminal(ctx, sz)
}

// sizePoll is how often an exec's terminal size is read.
const sizePoll = 200 * time.Millisecond

// followSize forwards the window size of an exec's terminal to the guest
// until the exec ends. The daemon has one controlling terminal, the
// init's (watchResize), so no SIGWINCH comes for an exec's: its size is
// read every sizePoll, and each change sent once. last is the size the
// exec started with.
func (d *daemon) followSize(p *sandbox.Process, term *os.File, last *spec.ConsoleSize) {
	t := time.NewTicker(sizePoll)
	defer t.Stop()
	for range t.C {
		if _, done := p.Exit(); done {
			return
		}
		sz := consoleSize(term)
		if sz == nil || (last != nil && *sz == *last) {
			continue
		}
		if err := resize(p, *sz); err != nil {
			d.log.Warn("resizing an exec's terminal", "exec", p.ExecID(), "err", err)
			continue
		}
		last = sz
	}
}
