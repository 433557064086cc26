package kmod

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{
			name: "order kept, comments and blanks skipped",
			in: "# transport first\n/lib/modules/6.1.0-28-amd64/kernel/drivers/virtio/virtio.ko\n\n" +
				"  /lib/modules/6.1.0-28-amd64/kernel/drivers/char/virtio_console.ko  \n",
			want: []string{
				"/lib/modules/6.1.0-28-amd64/kernel/drivers/virtio/virtio.ko",
				"/lib/modules/6.1.0-28-amd64/kernel/drivers/char/virtio_console.ko",
			},
		},
		{name: "empty", in: "", want: nil},
		{name: "relative path", in: "kernel/virtio.ko\n", wantErr: true},
		{name: "not a .ko", in: "/lib/modules/x/virtio.ko.xz\n", wantErr: true},
		{name: "unclean path", in: "/lib/modules/../etc/x.ko\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseList(strings.NewReader(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidList) {
					t.Fatalf("error = %v, want ErrInvalidList", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseList mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadListMissing(t *testing.T) {
	if _, err := ReadList(filepath.Join(t.TempDir(), "modules.load")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want ErrNotExist", err)
	}
}

func TestLoadResult(t *testing.T) {
	if err := loadResult("/x/virtio_net.ko", unix.EEXIST); err != nil {
		t.Errorf("EEXIST (already loaded) gave %v, want nil", err)
	}
	err := loadResult("/x/virtio-net.ko", unix.ENOEXEC)
	if !errors.Is(err, unix.ENOEXEC) || !strings.Contains(err.Error(), "virtio_net") {
		t.Errorf("error = %v, want ENOEXEC naming virtio_net", err)
	}
}

// TestLoadListNamesFailures loads files the kernel must refuse (missing,
// or not ELF): each failure names its module and the others are still
// tried.
func TestLoadListNamesFailures(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage_mod.ko")
	if err := os.WriteFile(garbage, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := LoadList([]string{filepath.Join(dir, "missing_mod.ko"), garbage})
	if err == nil {
		t.Fatal("LoadList of bogus modules succeeded")
	}
	for _, name := range []string{"missing_mod", "garbage_mod"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}
