package qemu

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
)

// pollInterval paces the readiness checks: short against a startup that
// takes ~100 ms, long enough not to spin.
const pollInterval = 10 * time.Millisecond

// waitReady waits until QEMU answers a QMP command, exits, or ctx ends,
// whichever comes first. On failure QEMU is dead when it returns.
func (p *Process) waitReady(ctx context.Context) error {
	for {
		err := answers(ctx, p.cmdline.QMPSocket)
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return p.startupError(fmt.Errorf("%w: %v", ErrEarlyExit, p.exitErr))
		case <-ctx.Done():
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			return p.startupError(fmt.Errorf("waiting for qemu QMP socket %q: %w (last try: %v)", p.cmdline.QMPSocket, ctx.Err(), err))
		case <-time.After(pollInterval):
		}
	}
}

// answers reports whether QEMU answers qmp_capabilities on path (nil) or
// why not yet. The greeting alone proves little: the monitor runs in its own
// thread and greets while the main thread may still be creating devices (and
// die of a bad one). Commands are dispatched by the main loop, which runs only
// once initialisation is complete. The connection is closed right after: the
// monitor serves one client at a time and the QMP client connects next.
func answers(ctx context.Context, path string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewReader(conn)
	greeting, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading QMP greeting: %w", err)
	}
	if !strings.HasPrefix(greeting, `{"QMP"`) {
		return fmt.Errorf("unexpected QMP greeting %q", greeting)
	}
	if _, err := io.WriteString(conn, `{"execute":"qmp_capabilities"}`+"\n"); err != nil {
		return fmt.Errorf("negotiating QMP: %w", err)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("negotiating QMP: %w", err)
		}
		if strings.HasPrefix(line, `{"return"`) {
			return nil
		}
		if strings.HasPrefix(line, `{"error"`) {
			return fmt.Errorf("negotiating QMP: %s", strings.TrimSpace(line))
		}
		// An event: read on.
	}
}

// startupError adds QEMU's output and the console log to a startup failure:
// the two places that say why.
func (p *Process) startupError(err error) error {
	return fmt.Errorf("starting qemu: %w\nqemu output:\n%s\nconsole:\n%s\ncommand: %s",
		err, indent(p.LogTail(4096)), indent(p.ConsoleTail(4096)), p.cmdline)
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "  (empty)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
