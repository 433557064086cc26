package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// numbered is n bytes of numbered lines, so that order and loss show.
func numbered(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %07d\n", i)
	}
	return b.Bytes()[:n]
}

func sizeOf(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestRotatingLog(t *testing.T) {
	for _, tc := range []struct {
		name   string
		max    int64
		writes []int // sizes of successive writes
	}{
		{"small writes", 1000, []int{100, 100, 300, 450, 1, 999}},
		{"a write larger than the budget", 1000, []int{2500}},
		{"odd budget", 999, []int{700, 700, 700}},
		{"unbounded", 0, []int{5000, 5000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "console.log")
			os.WriteFile(path+".1", []byte("an older boot's\n"), 0o644)
			l, err := createRotatingLog(path, tc.max)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, n := range tc.writes {
				total += n
			}
			all := numbered(total)
			rest := all
			for _, n := range tc.writes {
				if w, err := l.Write(rest[:n]); err != nil || w != n {
					t.Fatalf("Write(%d bytes) = %d, %v", n, w, err)
				}
				rest = rest[n:]
				if tc.max > 0 {
					if got := sizeOf(t, path) + sizeOf(t, path+".1"); got > tc.max {
						t.Fatalf("%d bytes on disk, budget %d", got, tc.max)
					}
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			cur, _ := os.ReadFile(path)
			old, _ := os.ReadFile(path + ".1")
			kept := string(old) + string(cur)
			// What is kept is the end of what was written, in order.
			if !strings.HasSuffix(string(all), kept) || kept == "" {
				t.Errorf("kept %d bytes that are not the end of the %d written", len(kept), len(all))
			}
			if tc.max == 0 && len(kept) != total {
				t.Errorf("unbounded log kept %d of %d bytes", len(kept), total)
			}
			if tc.max > 0 && int64(len(kept)) < tc.max/2 {
				t.Errorf("kept only %d bytes of a %d budget", len(kept), tc.max)
			}
			if got := consoleTail(path, 700); !strings.HasSuffix(kept, got) || len(got) != min(700, len(kept)) {
				t.Errorf("consoleTail(700) = %d bytes, not the end of the log", len(got))
			}
		})
	}
	if _, err := createRotatingLog(filepath.Join(t.TempDir(), "x"), -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("a negative budget: %v, want ErrInvalid", err)
	}
}

// TestConsoleDrain floods the socket as QEMU would and checks the log
// stays within budget, keeps the end of the stream, and that once the
// owner stops draining, the writer gets an error instead of blocking.
func TestConsoleDrain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "console.log")
	qemuEnd, d, err := openConsole(path, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	data := numbered(4 << 20)
	for rest := data; len(rest) > 0; {
		n, err := qemuEnd.Write(rest[:min(len(rest), 4096)])
		if err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	qemuEnd.Close() // QEMU exits
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.wait(ctx); err != nil {
		t.Fatal(err)
	}
	cur, _ := os.ReadFile(path)
	old, _ := os.ReadFile(path + ".1")
	if n := len(cur) + len(old); n > 64<<10 || n < 32<<10 {
		t.Errorf("%d bytes on disk after a 4 MiB flood, budget 64 KiB", n)
	}
	if !bytes.HasSuffix(data, append(old, cur...)) {
		t.Error("the log is not the end of the stream")
	}

	// The owner goes away: QEMU's writes fail at once (EPIPE), they never
	// block on a socket nobody reads.
	qemuEnd, d, err = openConsole(path, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer qemuEnd.Close()
	if err := d.close(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 1000 && err == nil; i++ {
			_, err = qemuEnd.Write(data[:64<<10])
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, syscall.EPIPE) {
			t.Errorf("writing after the owner closed: %v, want EPIPE", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write blocked after the owner closed its end")
	}
}
