package nvdimm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

var testUUID = [16]byte{0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x40, 0x71, 0x82, 0x93, 0xa4, 0xb5, 0xc6, 0xd7, 0xe8, 0xf9}

// sourceTree holds a file with known content, a nested file, a symlink and
// enough small files that mke2fs's default inode ratio would run short.
func sourceTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("hello.txt", "hello from the host\n")
	write("data/big.bin", strings.Repeat("0123456789abcdef", 1<<16)) // 1 MiB
	for i := range 1500 {
		write(fmt.Sprintf("many/f%04d", i), "x")
	}
	if err := os.Symlink("hello.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// debugfs runs a debugfs request against the file system inside img.
func debugfs(t *testing.T, img, request string) string {
	t.Helper()
	bin := testutil.RequireBinary(t, "debugfs", "e2fsprogs")
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	fsImg := filepath.Join(t.TempDir(), "fs.img")
	if err := os.WriteFile(fsImg, b[PrefixSize:], 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-R", request, fsImg).Output()
	if err != nil {
		t.Fatalf("debugfs -R %q: %v", request, err)
	}
	return string(out)
}

func build(t *testing.T, o ImageOptions) []byte {
	t.Helper()
	testutil.RequireBinary(t, "mkfs.ext4", "e2fsprogs")
	if err := BuildImage(context.Background(), o); err != nil {
		t.Fatalf("BuildImage: %v", err)
	}
	b, err := os.ReadFile(o.Out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuildImage(t *testing.T) {
	src := sourceTree(t)
	out := filepath.Join(t.TempDir(), "vol.img")
	img := build(t, ImageOptions{SourceDir: src, Out: out, Label: "kitedata", UUID: testUUID})

	if len(img)%Align != 0 || len(img) <= PrefixSize+1<<20 {
		t.Fatalf("image is %d bytes, want a multiple of %d holding the 1 MiB file", len(img), Align)
	}
	info, err := ParsePFNInfo(img[InfoOffset : InfoOffset+InfoSize])
	if err != nil {
		t.Fatalf("PFN info: %v", err)
	}
	if want := int64(len(img) - PrefixSize); info.DataSize != want || info.UUID != pfnUUID(testUUID) {
		t.Errorf("PFN info = %+v, want data size %d and uuid %x", info, want, pfnUUID(testUUID))
	}
	rest := append(bytes.Clone(img[:InfoOffset]), img[InfoOffset+InfoSize:PrefixSize]...)
	if !bytes.Equal(rest, make([]byte, len(rest))) {
		t.Error("the prefix outside the info block is not zero")
	}
	if magic := binary.LittleEndian.Uint16(img[PrefixSize+1024+56:]); magic != 0xEF53 {
		t.Fatalf("no ext4 superblock at the prefix's end (magic %#x)", magic)
	}
	if got := debugfs(t, out, "cat /hello.txt"); got != "hello from the host\n" {
		t.Errorf("hello.txt in the image = %q", got)
	}
	if got := debugfs(t, out, "cat /many/f1499"); got != "x" {
		t.Errorf("many/f1499 in the image = %q", got)
	}
	stats := debugfs(t, out, "stats")
	for _, want := range []string{"volume name:   kitedata", "UUID:          0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9", "Block size:               4096"} {
		if !strings.Contains(stats, want) {
			t.Errorf("debugfs stats lack %q:\n%s", want, stats)
		}
	}
	if strings.Contains(stats, "has_journal") {
		t.Error("image has a journal without Journal set")
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("image mode = %v, %v; want 0644", fi.Mode(), err)
	}
}

// mke2fs -d copies the source's atimes, and the first build reads every
// file, which moves them under relatime: the first build is a warm-up, after
// which the source's metadata stays put and two builds must match.
func TestBuildImageDeterministic(t *testing.T) {
	src := sourceTree(t)
	dir := t.TempDir()
	o := ImageOptions{SourceDir: src, Out: filepath.Join(dir, "warm.img"), UUID: testUUID, Label: "same"}
	build(t, o)
	o.Out = filepath.Join(dir, "a.img")
	a := build(t, o)
	o.Out = filepath.Join(dir, "b.img")
	if b := build(t, o); !bytes.Equal(a, b) {
		t.Error("two builds of the same tree with the same options differ")
	}
}

func TestBuildImageSizeAndJournal(t *testing.T) {
	src := sourceTree(t)
	out := filepath.Join(t.TempDir(), "vol.img")
	img := build(t, ImageOptions{SourceDir: src, Out: out, SizeBytes: 64 << 20, Journal: true})
	if len(img) != PrefixSize+64<<20 {
		t.Errorf("image is %d bytes, want %d", len(img), PrefixSize+64<<20)
	}
	if stats := debugfs(t, out, "stats"); !strings.Contains(stats, "has_journal") {
		t.Errorf("image has no journal with Journal set:\n%s", stats)
	}
}

func TestBuildImageBadInput(t *testing.T) {
	testutil.RequireBinary(t, "mkfs.ext4", "e2fsprogs")
	src := sourceTree(t)
	file := filepath.Join(src, "hello.txt")
	dir := t.TempDir()
	out := filepath.Join(dir, "vol.img")
	if err := os.WriteFile(out, []byte("previous image"), 0o644); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		o       ImageOptions
		invalid bool // ErrInvalidOptions rather than a failed build
	}{
		{"no source", context.Background(), ImageOptions{Out: out}, true},
		{"source missing", context.Background(), ImageOptions{SourceDir: filepath.Join(src, "nope"), Out: out}, true},
		{"source is a file", context.Background(), ImageOptions{SourceDir: file, Out: out}, true},
		{"size not aligned", context.Background(), ImageOptions{SourceDir: src, Out: out, SizeBytes: 3 << 20}, true},
		{"label too long", context.Background(), ImageOptions{SourceDir: src, Out: out, Label: strings.Repeat("l", 17)}, true},
		{"size too small", context.Background(), ImageOptions{SourceDir: src, Out: out, SizeBytes: 2 << 20}, false},
		{"cancelled", cancelled, ImageOptions{SourceDir: src, Out: out}, false},
		{"out dir missing", context.Background(), ImageOptions{SourceDir: src, Out: filepath.Join(dir, "no", "vol.img")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := BuildImage(tt.ctx, tt.o)
			if err == nil || errors.Is(err, ErrInvalidOptions) != tt.invalid {
				t.Fatalf("BuildImage error = %v, want one (ErrInvalidOptions: %v)", err, tt.invalid)
			}
			if b, _ := os.ReadFile(out); string(b) != "previous image" {
				t.Errorf("the existing image changed to %d bytes", len(b))
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("left behind: %v", ents)
			}
		})
	}
}
