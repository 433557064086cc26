package initramfs

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func sample() []Entry {
	return []Entry{
		File("/init", 0o755, []byte("#!/bin/sh\necho hi\n")),
		Symlink("bin/sh", "busybox"),
		File("bin/busybox", 0o755, []byte("\x7fELF pretend")),
		Dir("/tmp", fs.ModeSticky|0o777),
		File("lib/modules/6.1.0-1-amd64/kernel/fs/fuse/fuse.ko", 0o644, []byte("ko")),
		Dir("dev", 0o755),
	}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sample()); err != nil {
		t.Fatalf("Write() error = %v", err)
	}
	got, err := Read(&buf)
	if err != nil {
		t.Fatalf("Read() error = %v", err)
	}
	want := []Entry{
		Dir("bin", 0o755),
		File("bin/busybox", 0o755, []byte("\x7fELF pretend")),
		Symlink("bin/sh", "busybox"),
		Dir("dev", 0o755),
		File("init", 0o755, []byte("#!/bin/sh\necho hi\n")),
		Dir("lib", 0o755),
		Dir("lib/modules", 0o755),
		Dir("lib/modules/6.1.0-1-amd64", 0o755),
		Dir("lib/modules/6.1.0-1-amd64/kernel", 0o755),
		Dir("lib/modules/6.1.0-1-amd64/kernel/fs", 0o755),
		Dir("lib/modules/6.1.0-1-amd64/kernel/fs/fuse", 0o755),
		File("lib/modules/6.1.0-1-amd64/kernel/fs/fuse/fuse.ko", 0o644, []byte("ko")),
		Dir("tmp", 0o777|fs.ModeSticky),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Read(Write()) mismatch (-want +got):\n%s", diff)
	}
}

func TestReproducible(t *testing.T) {
	entries := sample()
	var a, b bytes.Buffer
	if err := Write(&a, entries); err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	if err := Write(&b, entries); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same entries in another order gave different archives")
	}
	// gzip header: flags (byte 3) without FNAME, mtime (bytes 4-7) zero.
	if h := a.Bytes()[:10]; h[3] != 0 || !bytes.Equal(h[4:8], []byte{0, 0, 0, 0}) {
		t.Errorf("gzip header % x carries a name or a time", h)
	}
	zr, err := gzip.NewReader(&a)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "sample.cpio")
	if *update {
		if err := os.WriteFile(golden, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(raw, want) {
		t.Errorf("cpio stream differs from %s (run go test -update after checking why)", golden)
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		entries []Entry
		wantErr error
	}{
		{name: "duplicate with and without slash", entries: []Entry{Dir("/etc", 0o755), Dir("etc", 0o755)}, wantErr: ErrDuplicate},
		{name: "dot dot", entries: []Entry{File("../x", 0o644, nil)}, wantErr: ErrBadEntry},
		{name: "unclean", entries: []Entry{File("a/../b", 0o644, nil)}, wantErr: ErrBadEntry},
		{name: "root", entries: []Entry{Dir("/", 0o755)}, wantErr: ErrBadEntry},
		{name: "file under a file", entries: []Entry{File("a", 0o644, nil), File("a/b", 0o644, nil)}, wantErr: ErrBadEntry},
		{name: "symlink without target", entries: []Entry{{Path: "l", Mode: fs.ModeSymlink}}, wantErr: ErrBadEntry},
		{name: "device node", entries: []Entry{{Path: "dev/console", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o600}}, wantErr: ErrBadEntry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Write(io.Discard, tt.entries); !errors.Is(err, tt.wantErr) {
				t.Errorf("Write() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
