package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shCmdline runs a shell script in QEMU's place: Start's bookkeeping does
// not depend on the binary being QEMU.
func shCmdline(t *testing.T, script string) (Cmdline, StartOptions) {
	dir := t.TempDir()
	return Cmdline{
		Path:       "/bin/sh",
		Args:       []string{"-c", script},
		QMPSocket:  filepath.Join(dir, "qmp.sock"),
		PidFile:    filepath.Join(dir, "qemu.pid"),
		ConsoleLog: filepath.Join(dir, "console.log"),
	}, StartOptions{LogPath: filepath.Join(dir, "qemu.log")}
}

func TestStartReportsEarlyExit(t *testing.T) {
	cl, o := shCmdline(t, "echo 'qemu-system-x86_64: -device foo: boom' >&2; exit 3")
	if err := os.WriteFile(o.LogPath, []byte("output of an older run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cl.ConsoleLog, []byte("guest said hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A stale socket file must not pass for a live QEMU.
	if err := os.WriteFile(cl.QMPSocket, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Start(ctx, cl, o)
	if !errors.Is(err, ErrEarlyExit) {
		t.Fatalf("Start error = %v, want ErrEarlyExit", err)
	}
	msg := err.Error()
	for _, want := range []string{"-device foo: boom", "guest said hi", "exit status 3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "older run") {
		t.Errorf("error quotes output of an older run:\n%s", msg)
	}
}

func TestStartKillsOnContextEnd(t *testing.T) {
	cl, o := shCmdline(t, "")
	cl.Args = []string{"-c", "echo $$ > " + cl.PidFile + "; exec sleep 30"}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Start(ctx, cl, o)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start error = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Start took %v after its context ended", d)
	}
	// Killed and reaped: the pidfile naming it is gone.
	if _, err := os.Stat(cl.PidFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile still there after the kill: %v", err)
	}
}

func TestStartNeedsLogAndSocket(t *testing.T) {
	cl, o := shCmdline(t, "true")
	o.LogPath = ""
	if _, err := Start(context.Background(), cl, o); !errors.Is(err, ErrInvalid) {
		t.Errorf("Start without LogPath = %v, want ErrInvalid", err)
	}
}

func TestStopResultString(t *testing.T) {
	for r, want := range map[StopResult]string{StillRunning: "still running", ExitedBefore: "already exited", ExitedOnQuit: "quit", ExitedOnTerm: "SIGTERM", ExitedOnKill: "SIGKILL", 9: "StopResult(9)"} {
		if got := r.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(r), got, want)
		}
	}
}
