package fsshare

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func startFake(t *testing.T, p VirtiofsdPlan) *Virtiofsd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := StartVirtiofsd(ctx, p)
	if err != nil {
		t.Fatalf("StartVirtiofsd: %v", err)
	}
	killAtEnd(t, v.Pid())
	return v
}

func TestVirtiofsdStartStop(t *testing.T) {
	p := fakePlan(t, "serve")
	childPid := p.LogPath + ".child"
	t.Setenv(fakeChildPidEnv, childPid)
	v := startFake(t, p)
	if st, err := os.Stat(p.SocketPath); err != nil || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket after start: %v, %v", st, err)
	}
	pgid, err := syscall.Getpgid(v.Pid())
	if err != nil || pgid != v.Pid() {
		t.Errorf("virtiofsd's process group = %d, %v; want its own (%d)", pgid, err, v.Pid())
	}
	child := readPid(t, childPid)
	killAtEnd(t, child)

	if err := v.Stop(context.Background(), 5*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-v.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if err := v.ExitErr(); err != nil {
		t.Errorf("ExitErr after SIGTERM = %v, want nil (the fake exits 0)", err)
	}
	waitDead(t, child, "the child in virtiofsd's process group")
	for _, f := range []string{p.SocketPath, p.LockFile} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after Stop (%v)", f, err)
		}
	}
	if !strings.Contains(v.LogTail(4096), "fake virtiofsd serve") {
		t.Errorf("log tail %q lacks the fake's output", v.LogTail(4096))
	}
	if err := v.Stop(context.Background(), time.Second); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestVirtiofsdExitsEarly(t *testing.T) {
	p := fakePlan(t, "exit")
	_, err := StartVirtiofsd(context.Background(), p)
	if !errors.Is(err, ErrVirtiofsdExited) {
		t.Fatalf("error = %v, want ErrVirtiofsdExited", err)
	}
	for _, want := range []string{"cannot serve, giving up", "exit status 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestVirtiofsdStartTimeout(t *testing.T) {
	p := fakePlan(t, "hang")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := StartVirtiofsd(ctx, p)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want a deadline", err)
	}
	wantNoProcess(t, p.SocketPath)
}

func TestVirtiofsdStopEscalates(t *testing.T) {
	v := startFake(t, fakePlan(t, "ignore-term"))
	start := time.Now()
	if err := v.Stop(context.Background(), 200*time.Millisecond); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	var exit interface{ Sys() any }
	if !errors.As(v.ExitErr(), &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("ExitErr = %v, want killed by SIGKILL", v.ExitErr())
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("Stop took %s: it did not give SIGTERM its time", d)
	}
}

func TestVirtiofsdDeathDetected(t *testing.T) {
	v := startFake(t, fakePlan(t, "serve"))
	syscall.Kill(v.Pid(), syscall.SIGKILL)
	select {
	case <-v.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after virtiofsd died")
	}
	if v.ExitErr() == nil {
		t.Error("ExitErr = nil after SIGKILL")
	}
}

func TestListening(t *testing.T) {
	table := filepath.Join(t.TempDir(), "unix")
	os.WriteFile(table, []byte(`Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 2001 /run/kite/sb/share0.sock
0000000000000000: 00000002 00000000 00000000 0001 01 2002 /run/kite/sb/share1.sock
0000000000000000: 00000003 00000000 00000000 0001 03 2003
`), 0o644)
	for path, want := range map[string]bool{"/run/kite/sb/share0.sock": true, "/run/kite/sb/share1.sock": false, "/run/kite/sb/none.sock": false} {
		if got := listening(table, path); got != want {
			t.Errorf("listening(%s) = %v, want %v", path, got, want)
		}
	}
	if !listening(filepath.Join(t.TempDir(), "missing"), "/x") {
		t.Errorf("without a table to read, the socket file must do")
	}
}
