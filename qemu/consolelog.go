package qemu

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/kite-vm/kite/internal/filetail"
	"golang.org/x/sys/unix"
)

// The guest's serial console reaches the host through a socket pair, not
// a file QEMU writes: QEMU writes to its end (-chardev socket,fd=N), and
// the process that started QEMU drains the other end into ConsoleLog,
// which it caps: once ConsoleLog holds half of ConsoleLogMax bytes it
// becomes ConsoleLog.1 (replacing the older one) and a new ConsoleLog
// starts, so the two never hold more than ConsoleLogMax bytes together. A
// file QEMU writes could only be capped by truncating it under QEMU (whose
// offset then runs on past the end, or loses what it wrote meanwhile) or
// by rotating it over QMP (chardev-change, a round trip per rotation), and
// neither holds once the owner is gone: QEMU would write on unbounded.
//
// When the owner dies (or Close is called), its end closes: QEMU's next
// write fails, QEMU disconnects the chardev and drops console output from
// then on; the guest's UART never blocks on it. While the owner lives, the
// socket's buffer paces the guest as a slow terminal would.

// consoleBuf is how much one read from the console takes.
const consoleBuf = 32 << 10

// consoleDrain copies the console from its socket into the capped log.
type consoleDrain struct {
	sock *os.File // our end, non-blocking (so Close interrupts a read)
	log  *rotatingLog
	done chan struct{} // closed when the drain has ended, log closed
	err  error         // the first write error; set before done closes
}

// openConsole truncates the console log (and drops an older generation
// left by an earlier boot), makes the socket pair and starts draining it.
// It returns QEMU's end, which the caller passes to QEMU and then closes.
func openConsole(path string, max int64) (*os.File, *consoleDrain, error) {
	log, err := createRotatingLog(path, max)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the console log: %w", err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		log.Close()
		return nil, nil, fmt.Errorf("making the console socket: %w", err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		log.Close()
		return nil, nil, fmt.Errorf("making the console socket: %w", err)
	}
	d := &consoleDrain{sock: os.NewFile(uintptr(fds[0]), "console"), log: log, done: make(chan struct{})}
	go d.run()
	return os.NewFile(uintptr(fds[1]), "console (qemu)"), d, nil
}

// run drains until QEMU's end is closed (QEMU exited) or Close. A write
// error does not stop it: QEMU must never wait on a full socket because
// the log cannot be written.
func (d *consoleDrain) run() {
	defer close(d.done)
	buf := make([]byte, consoleBuf)
	for {
		n, err := d.sock.Read(buf)
		if n > 0 && d.err == nil {
			if _, werr := d.log.Write(buf[:n]); werr != nil {
				d.err = werr
			}
		}
		if err != nil {
			break
		}
	}
	if err := d.log.Close(); err != nil && d.err == nil {
		d.err = err
	}
	d.sock.Close()
}

// wait waits until the drain has written everything QEMU sent before it
// exited, or ctx ends.
func (d *consoleDrain) wait(ctx context.Context) error {
	select {
	case <-d.done:
		return d.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops draining; QEMU drops console output from then on.
func (d *consoleDrain) close() error {
	d.sock.Close() // interrupts the read; run closes the log
	<-d.done
	return d.err
}

// rotatingLog is a file capped at half its budget, with one older
// generation at path.1.
type rotatingLog struct {
	path string
	half int64 // the most bytes each generation holds; 0: unbounded

	mu   sync.Mutex
	f    *os.File // nil after a failed rotation or Close
	size int64
}

// createRotatingLog starts a fresh log of at most max bytes on disk (0:
// unbounded) at path, removing an older generation.
func createRotatingLog(path string, max int64) (*rotatingLog, error) {
	if max < 0 || max == 1 {
		return nil, fmt.Errorf("%w: console log budget %d bytes", ErrInvalid, max)
	}
	if err := os.Remove(path + ".1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_CLOEXEC, 0o640)
	if err != nil {
		return nil, err
	}
	return &rotatingLog{path: path, half: max / 2, f: f}, nil
}

// Write writes p, rotating as often as it takes.
func (l *rotatingLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	written := 0
	for len(p) > 0 {
		if l.f == nil {
			return written, fmt.Errorf("writing the console log %s: %w", l.path, os.ErrClosed)
		}
		if l.half > 0 && l.size >= l.half {
			if err := l.rotate(); err != nil {
				return written, err
			}
		}
		chunk := p
		if l.half > 0 {
			chunk = p[:min(int64(len(p)), l.half-l.size)]
		}
		n, err := l.f.Write(chunk)
		written += n
		l.size += int64(n)
		if err != nil {
			return written, fmt.Errorf("writing the console log %s: %w", l.path, err)
		}
		p = p[n:]
	}
	return written, nil
}

// rotate makes the current file the older generation and starts a new one.
func (l *rotatingLog) rotate() error {
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("rotating the console log %s: %w", l.path, err)
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("rotating the console log %s: %w", l.path, err)
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_CLOEXEC, 0o640)
	if err != nil {
		return fmt.Errorf("rotating the console log %s: %w", l.path, err)
	}
	l.f, l.size = f, 0
	return nil
}

// Close closes the current file.
func (l *rotatingLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// consoleFlush bounds the wait, after QEMU exited, for the console's last
// bytes to reach the log: QEMU's end of the socket closed with QEMU.
const consoleFlush = 2 * time.Second

// finishConsole lets the drain write what QEMU sent before it exited, so
// that Done means the console log is complete, then stops it.
func (p *Process) finishConsole() {
	if p.console == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), consoleFlush)
	defer cancel()
	if p.console.wait(ctx) != nil {
		p.console.close()
	}
}

// consoleTail returns up to the last n bytes of the console log at path,
// reaching into the older generation when the current one is shorter.
func consoleTail(path string, n int) string {
	cur := filetail.Read(path, 0, n)
	if len(cur) >= n {
		return cur
	}
	return filetail.Read(path+".1", 0, n-len(cur)) + cur
}
