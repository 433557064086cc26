package deb

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/guest/internal/synth"
)

const control = "Package: linux-image-6.1.0-9-amd64\nVersion: 1:6.1.99-1\nArchitecture: amd64\nDescription: test\n multi-line: not a field\n"

func writeDeb(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.deb")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadDeb(t *testing.T) {
	files := []synth.DebFile{
		{Path: "boot/vmlinuz-6.1.0-9-amd64", Data: []byte("kernel")},
		{Path: "lib/modules/6.1.0-9-amd64/kernel/fs/fuse/fuse.ko", Data: []byte("odd-length!")},
	}
	d, err := Open(writeDeb(t, synth.Deb(control, files)))
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	defer d.Close()
	ctl, err := d.Control()
	if err != nil {
		t.Fatalf("Control() error = %v", err)
	}
	if diff := cmp.Diff(Control{Package: "linux-image-6.1.0-9-amd64", Version: "1:6.1.99-1", Architecture: "amd64"}, ctl); diff != "" {
		t.Errorf("Control() mismatch (-want +got):\n%s", diff)
	}
	got := map[string]string{}
	err = d.Walk(context.Background(), func(h *tar.Header, r io.Reader) error {
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(r)
			got[h.Name] = string(b)
			return err
		}
		got[h.Name] = "dir"
		return nil
	})
	if err != nil {
		t.Fatalf("Walk() error = %v", err)
	}
	want := map[string]string{
		"": "dir", "boot/": "dir", "lib/": "dir", "lib/modules/": "dir", "lib/modules/6.1.0-9-amd64/": "dir",
		"lib/modules/6.1.0-9-amd64/kernel/": "dir", "lib/modules/6.1.0-9-amd64/kernel/fs/": "dir",
		"lib/modules/6.1.0-9-amd64/kernel/fs/fuse/":        "dir",
		"boot/vmlinuz-6.1.0-9-amd64":                       "kernel",
		"lib/modules/6.1.0-9-amd64/kernel/fs/fuse/fuse.ko": "odd-length!",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Walk() entries mismatch (-want +got):\n%s", diff)
	}
}

func TestWalkStopsOnCancel(t *testing.T) {
	d, err := Open(writeDeb(t, synth.Deb(control, []synth.DebFile{{Path: "a", Data: []byte("x")}})))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.Walk(ctx, func(*tar.Header, io.Reader) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Walk() error = %v, want %v", err, context.Canceled)
	}
}

func TestOpenErrors(t *testing.T) {
	good := synth.Deb(control, nil)
	tests := []struct {
		name string
		data []byte
	}{
		{name: "not ar", data: []byte("PK\x03\x04 zip file")},
		{name: "truncated member", data: good[:len(good)-10]},
		{name: "bad member header", data: append([]byte("!<arch>\n"), make([]byte, 60)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Open(writeDeb(t, tt.data)); !errors.Is(err, ErrFormat) {
				t.Errorf("Open() error = %v, want %v", err, ErrFormat)
			}
		})
	}
}

func TestParseDepends(t *testing.T) {
	tests := []struct {
		name, out string
		want      []string
	}{
		{
			name: "meta package",
			out:  "linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n",
			want: []string{"linux-image-6.1.0-56-amd64"},
		},
		{
			name: "alternatives, virtual packages and other relations",
			out: "linux-image-6.1.0-56-amd64\n  Depends: kmod\n  Depends: linux-base\n |Depends: initramfs-tools\n" +
				"  Depends: <linux-initramfs-tool>\n    dracut\n  PreDepends: debconf\n  Recommends: apparmor\n",
			want: []string{"kmod", "linux-base", "initramfs-tools"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseDepends(tt.out)); diff != "" {
				t.Errorf("parseDepends() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCandidateFileName(t *testing.T) {
	c := Candidate{Package: "busybox-static", Version: "1:1.35.0-4+deb12u1+b1", Architecture: "amd64"}
	if got, want := c.FileName(), "busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb"; got != want {
		t.Errorf("FileName() = %q, want %q", got, want)
	}
}
