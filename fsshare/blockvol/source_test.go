package blockvol

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// ext4Image makes an ext4 image of size MiB holding hello.txt.
func ext4Image(t testing.TB, sizeMiB int) string {
	t.Helper()
	mkfs := testutil.RequireBinary(t, "mkfs.ext4", "e2fsprogs")
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello from the image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "vol.img")
	out, err := exec.Command(mkfs, "-q", "-F", "-d", src, img, fmt.Sprintf("%dM", sizeMiB)).CombinedOutput()
	if err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	return img
}

func fileWith(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDetectFSType(t *testing.T) {
	at := func(off int, sig string) []byte {
		b := make([]byte, 0x11000)
		copy(b[off:], sig)
		return b
	}
	img, err := os.ReadFile(ext4Image(t, 8))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"ext4 from mkfs", img, "ext4"},
		{"xfs", at(0, "XFSB"), "xfs"},
		{"btrfs", at(0x10040, "_BHRfS_M"), "btrfs"},
		{"zeros", make([]byte, 0x11000), ""},
		{"short", []byte("XF"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectFSType(bytes.NewReader(tt.data)); got != tt.want {
				t.Errorf("DetectFSType = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	img := ext4Image(t, 8)
	junk := fileWith(t, make([]byte, 1<<20))
	empty := fileWith(t, nil)
	tests := []struct {
		name string
		m    specs.Mount
		ok   bool
		want Volume
		err  string
	}{
		{"image with a type", specs.Mount{Destination: "/data", Type: "ext4", Source: img,
			Options: []string{"rw", "nosuid", "rprivate", "noatime", "ro"}}, true,
			Volume{Source: img, Destination: "/data", Kind: Image, Size: 8 << 20, FSType: "ext4",
				Options: []string{"nosuid", "noatime"}, ReadOnly: true}, ""},
		{"image with type auto", specs.Mount{Destination: "/d", Type: "auto", Source: img, Options: []string{"loop", "ro", "rw"}}, true,
			Volume{Source: img, Destination: "/d", Kind: Image, Size: 8 << 20, FSType: "ext4"}, ""},
		{"single-file bind", specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: img, Options: []string{"rbind", "ro"}}, false, Volume{}, ""},
		{"file with bind option", specs.Mount{Destination: "/x", Type: "ext4", Source: img, Options: []string{"bind"}}, false, Volume{}, ""},
		{"directory", specs.Mount{Destination: "/x", Type: "bind", Source: t.TempDir()}, false, Volume{}, ""},
		{"char device", specs.Mount{Destination: "/x", Type: "bind", Source: "/dev/null"}, false, Volume{}, ""},
		{"missing", specs.Mount{Destination: "/x", Type: "ext4", Source: "/nonexistent/vol.img"}, false, Volume{}, "no such file"},
		{"empty image", specs.Mount{Destination: "/x", Type: "ext4", Source: empty}, false, Volume{}, "is empty"},
		{"unknown contents", specs.Mount{Destination: "/x", Type: "auto", Source: junk}, false, Volume{}, "no file system Kite recognizes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok, err := Classify(tt.m)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), tt.m.Source) {
					t.Fatalf("Classify error = %v, want %q naming the source", err, tt.err)
				}
				return
			}
			if err != nil || ok != tt.ok {
				t.Fatalf("Classify = %v, %v; want ok %v", ok, err, tt.ok)
			}
			if diff := cmp.Diff(tt.want, v); diff != "" {
				t.Errorf("volume mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLockExclusive(t *testing.T) {
	v := Volume{Source: ext4Image(t, 8), Kind: Image}
	first, err := Acquire(v)
	if err != nil {
		t.Fatalf("first Acquire: %v", err)
	}
	_, err = Acquire(v)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), v.Source) || !strings.Contains(err.Error(), "in use by another sandbox") {
		t.Fatalf("second Acquire = %v, want ErrInUse naming %s", err, v.Source)
	}
	// Another process is refused too (flock is per open file, across processes).
	if flock, err := exec.LookPath("flock"); err == nil {
		if out, err := exec.Command(flock, "-n", "-x", v.Source, "true").CombinedOutput(); err == nil {
			t.Errorf("flock(1) got the lock a sandbox holds: %s", out)
		}
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := first.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	again, err := Acquire(v)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	again.Release()
	if _, err := Acquire(Volume{Source: "/nonexistent/vol.img", Kind: Image}); err == nil || errors.Is(err, ErrInUse) {
		t.Errorf("Acquire of a missing file = %v, want an open error", err)
	}
}
