package stdio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// readAll drains b the way the host does, call after call, until eof.
func readAll(t *testing.T, b *Buffer, max int) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []byte
	for {
		data, eof, err := b.Read(ctx, max)
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", len(out), err)
		}
		if eof {
			if len(data) != 0 {
				t.Fatal("eof returned with data")
			}
			return out
		}
		if len(data) == 0 || len(data) > max {
			t.Fatalf("Read returned %d bytes, want 1..%d", len(data), max)
		}
		out = append(out, data...)
	}
}

// TestFastExitingProcessOutputIsKept runs a process that writes far more
// than the buffer holds and exits at once; only then does the host start
// reading. Every byte, the tail included, must arrive.
func TestFastExitingProcessOutputIsKept(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuffer(4096)
	done := make(chan struct{})
	go func() { Pump(b, r); close(done) }()

	cmd := exec.Command("sh", "-c", `i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; printf tail`)
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// The pipe and the buffer fill up: the process blocks until we read,
	// so output is pushed back, never dropped.
	got := readAll(t, b, 1000)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	<-done
	var want strings.Builder
	for i := 0; i < 2000; i++ {
		want.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	want.WriteString("tail")
	if string(got) != want.String() {
		t.Errorf("got %d bytes ending %q, want %d bytes ending %q", len(got), tailOf(got), want.Len(), "tail")
	}
	if !b.Drained() {
		t.Error("Drained() = false after eof")
	}
}

func TestOutputReadAfterExit(t *testing.T) {
	r, w, _ := os.Pipe()
	b := NewBuffer(1 << 20)
	cmd := exec.Command("sh", "-c", "echo one; echo two >&1; exit 3")
	cmd.Stdout = w
	if err := cmd.Run(); err == nil {
		t.Fatal("want exit status 3")
	}
	w.Close()
	time.Sleep(10 * time.Millisecond) // the process is long gone before anyone reads
	go Pump(b, r)
	if got := readAll(t, b, 1<<20); string(got) != "one\ntwo\n" {
		t.Errorf("got %q", got)
	}
}

func TestPtyEIOIsEOF(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	cmd := exec.Command("echo", "on a terminal")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	slave.Close() // the master now reads the rest, then EIO
	b := NewBuffer(1024)
	go Pump(b, master)
	if got := readAll(t, b, 100); !bytes.Contains(got, []byte("on a terminal")) {
		t.Errorf("got %q", got)
	}
}

func TestReadBlocksUntilDataOrCancel(t *testing.T) {
	b := NewBuffer(16)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, _, err := b.Read(ctx, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read on empty buffer = %v, want DeadlineExceeded", err)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		b.Write([]byte("hello"))
	}()
	data, eof, err := b.Read(context.Background(), 3)
	if err != nil || eof || string(data) != "hel" {
		t.Fatalf("Read = %q, %v, %v", data, eof, err)
	}
	b.CloseWrite()
	if data, eof, _ := b.Read(context.Background(), 10); string(data) != "lo" || eof {
		t.Errorf("Read after CloseWrite = %q, %v; want the rest first", data, eof)
	}
	for i := 0; i < 2; i++ {
		if data, eof, _ := b.Read(context.Background(), 10); len(data) != 0 || !eof {
			t.Errorf("Read at end = %q, %v; want eof every time", data, eof)
		}
	}
}

func TestDiscardReleasesWriter(t *testing.T) {
	b := NewBuffer(4)
	done := make(chan error, 1)
	go func() { _, err := b.Write([]byte("more than four")); done <- err }()
	time.Sleep(10 * time.Millisecond)
	b.Discard()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Write after Discard = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Discard did not release a blocked writer")
	}
	if _, eof, _ := b.Read(context.Background(), 10); !eof {
		t.Error("Read after Discard did not report eof")
	}
}

func TestClosed(t *testing.T) {
	data, eof, err := Closed().Read(context.Background(), 10)
	if len(data) != 0 || !eof || err != nil {
		t.Errorf("Closed().Read = %q, %v, %v; want eof", data, eof, err)
	}
}

func tailOf(b []byte) []byte { return b[max(0, len(b)-10):] }

var _ io.Writer = (*Buffer)(nil)
