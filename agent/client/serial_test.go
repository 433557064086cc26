package client

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestListenSerialAcceptHonoursContext(t *testing.T) {
	sl, err := ListenSerial(filepath.Join(t.TempDir(), "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	began := time.Now()
	if _, err := sl.Accept(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Accept with a canceled ctx = %v, want context.Canceled", err)
	}
	if elapsed := time.Since(began); elapsed > time.Second {
		t.Errorf("Accept returned %v after cancel, want promptly", elapsed)
	}

	// The listener still works after a canceled Accept: the deadline that
	// woke it must have been cleared.
	dialed := make(chan net.Conn, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		c, err := net.Dial("unix", sl.Path())
		if err != nil {
			t.Errorf("dialing like QEMU: %v", err)
		}
		dialed <- c
	}()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	host, err := sl.Accept(ctx2)
	if err != nil {
		t.Fatalf("Accept after a canceled one: %v", err)
	}
	defer host.Close()
	qemu := <-dialed
	if qemu == nil {
		t.FailNow()
	}
	defer qemu.Close()

	// Bytes the host writes before anyone reads wait in the socket, as
	// they do while the guest has not opened its port yet.
	if _, err := host.Write([]byte("early")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	buf := make([]byte, 5)
	if _, err := io.ReadFull(qemu, buf); err != nil || string(buf) != "early" {
		t.Errorf("read %q, %v; want the early bytes", buf, err)
	}
}

func TestListenSerialDeadlineExpires(t *testing.T) {
	sl, err := ListenSerial(filepath.Join(t.TempDir(), "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := sl.Accept(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Accept = %v, want context.DeadlineExceeded", err)
	}
}

func TestListenSerialSocketFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.sock")
	sl, err := ListenSerial(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want a socket with 0600", fi.Mode())
	}
	if _, err := ListenSerial(path); err == nil {
		t.Error("ListenSerial on a path in use succeeded")
	}
	if err := sl.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Close: %v, want it removed", err)
	}
	if _, err := sl.Accept(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
}

func TestListenSerialRefusesLongPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("x", 120))
	if _, err := ListenSerial(path); !errors.Is(err, ErrSocketPathTooLong) {
		t.Fatalf("ListenSerial(%d bytes) = %v, want ErrSocketPathTooLong", len(path), err)
	}
}
