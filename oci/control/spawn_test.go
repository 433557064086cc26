package control

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/oci/state"
	"golang.org/x/sys/unix"
)

func spawnHelper(t *testing.T, mode string) (int, error) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Spawn(ctx, SpawnSpec{
		Path: self, Args: []string{"-test.run=^$"},
		Env:   append(os.Environ(), helperEnv+"="+mode),
		Stdio: Stdio{In: devNull, Out: os.Stderr, Err: os.Stderr},
	})
}

func TestSpawnCreated(t *testing.T) {
	pid, err := spawnHelper(t, "created")
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	if !(state.Proc{}).Alive(pid, 0) {
		t.Fatalf("the sandbox process %d is not running after reporting", pid)
	}
	// It runs in a session of its own.
	sid, err := unix.Getsid(pid)
	if err != nil || sid != pid {
		t.Errorf("session of %d = %d, %v; want its own", pid, sid, err)
	}
}

func TestSpawnReportsFailure(t *testing.T) {
	_, err := spawnHelper(t, "error")
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalidArgument) || e.Message != "invalid argument: the bundle is bad" {
		t.Errorf("Spawn = %v; want the reported invalid-argument error", err)
	}
	_, err = spawnHelper(t, "exit")
	if !errors.Is(err, ErrDaemonExited) {
		t.Errorf("Spawn of a process that exits = %v; want ErrDaemonExited", err)
	}
}

func TestOpenReportRefusesNonPipe(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := OpenReport(int(f.Fd())); err == nil {
		t.Error("OpenReport took /dev/null for the report pipe")
	}
}
