package initsys

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/server/internal/nstest"
	"golang.org/x/sys/unix"
)

func TestStageFromCmdline(t *testing.T) {
	stage := t.TempDir()
	if err := os.MkdirAll(filepath.Join(stage, "etc/kite"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stage, SwitchRootMarker), []byte("nvdimm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const nvdimm = "console=ttyS0 root=/dev/pmem0 rootfstype=ext4 rootflags=dax=always ro"
	tests := []struct {
		name, root, cmdline string
		ok                  bool
		err                 error
	}{
		{"stage with root", stage, nvdimm, true, nil},
		{"stage without root", stage, "console=ttyS0", true, ErrNoRoot},
		{"full initramfs ignores root=", t.TempDir(), nvdimm, false, nil},
		{"full initramfs", t.TempDir(), "console=ttyS0", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok, err := StageFromCmdline(tt.root, tt.cmdline)
			if ok != tt.ok || !errors.Is(err, tt.err) {
				t.Fatalf("StageFromCmdline = %v, %v; want %v, %v", ok, err, tt.ok, tt.err)
			}
			if err != nil && !strings.Contains(err.Error(), `guest.image_type = "nvdimm"`) {
				t.Errorf("error %q does not say what the initramfs is for", err)
			}
			if ok && err == nil && (s.Root.Device != "/dev/pmem0" || s.Target != "/sysroot" || s.ModulesList != "/etc/kite/modules.load") {
				t.Errorf("stage = %+v", s)
			}
		})
	}
}

func TestWaitDevice(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "pmem0")
	go func() {
		time.Sleep(50 * time.Millisecond)
		os.WriteFile(dev, nil, 0o600)
	}()
	if err := WaitDevice(context.Background(), dev, 5*time.Second); err != nil {
		t.Errorf("WaitDevice for a node that appears: %v", err)
	}
	err := WaitDevice(context.Background(), dev+"-never", 30*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "pmem0-never") {
		t.Errorf("WaitDevice for a missing node = %v, want a deadline naming it", err)
	}
}

// tree lists the entries under dir as "path mode [-> link | content]".
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line := rel + " " + fi.Mode().String()
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			line += " -> " + l
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			line += " " + string(b)
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func etcTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []struct {
		path, data string
		mode       os.FileMode
	}{{"kite/modules.load", "/lib/x.ko\n", 0o644}, {"secret", "s", 0o600}, {"hostname", "vm\n", 0o644}} {
		p := filepath.Join(dir, f.path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/proc/self/mounts", filepath.Join(dir, "mtab")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCopyTree(t *testing.T) {
	src, dst := etcTree(t), t.TempDir()
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree(t, src), tree(t, dst)); diff != "" {
		t.Errorf("copy differs (-src +dst):\n%s", diff)
	}
}

// TestIntegrationWritableDir: a read-only directory becomes writable with
// its content intact, and the original stays untouched.
func TestIntegrationWritableDir(t *testing.T) {
	etc := etcTree(t)
	want := tree(t, etc)
	nstest.InMountNS(t, func() {
		if err := unix.Mount(etc, etc, "", unix.MS_BIND, ""); err != nil {
			t.Error(err)
			return
		}
		if err := unix.Mount("", etc, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			t.Error(err)
			return
		}
		if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), nil, 0o644); !errors.Is(err, unix.EROFS) {
			t.Errorf("writing before: %v, want EROFS", err)
		}
		if err := WritableDir(etc); err != nil {
			t.Errorf("WritableDir: %v", err)
			return
		}
		if diff := cmp.Diff(want, tree(t, etc)); diff != "" {
			t.Errorf("content after WritableDir (-want +got):\n%s", diff)
		}
		if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver 192.0.2.1\n"), 0o644); err != nil {
			t.Errorf("writing after: %v", err)
		}
	})
	if diff := cmp.Diff(want, tree(t, etc)); diff != "" {
		t.Errorf("the original directory changed (-want +got):\n%s", diff)
	}
}

// TestIntegrationFreeInitramfs: only a ramfs or tmpfs root is emptied, and
// the kept directory survives.
func TestIntegrationFreeInitramfs(t *testing.T) {
	disk := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(disk, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.TMPFS_MAGIC && st.Type != unix.RAMFS_MAGIC {
		os.WriteFile(filepath.Join(disk, "keepme"), nil, 0o644)
		if err := freeInitramfs(disk, "sysroot"); err == nil || !strings.Contains(err.Error(), "not a ramfs or tmpfs") {
			t.Errorf("freeInitramfs on a disk directory = %v, want a refusal", err)
		}
		if _, err := os.Stat(filepath.Join(disk, "keepme")); err != nil {
			t.Errorf("the refusal removed files: %v", err)
		}
	}
	root := t.TempDir()
	nstest.InMountNS(t, func() {
		if err := unix.Mount("tmpfs", root, "tmpfs", 0, ""); err != nil {
			t.Error(err)
			return
		}
		for _, p := range []string{"init", "lib/modules/x.ko", "sysroot/etc/hostname"} {
			os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
			os.WriteFile(filepath.Join(root, p), []byte("x"), 0o644)
		}
		if err := freeInitramfs(root, "sysroot"); err != nil {
			t.Errorf("freeInitramfs: %v", err)
		}
		if diff := cmp.Diff([]string{"sysroot drwxr-xr-x", "sysroot/etc drwxr-xr-x", "sysroot/etc/hostname -rw-r--r-- x"}, tree(t, root)); diff != "" {
			t.Errorf("left after freeing (-want +got):\n%s", diff)
		}
	})
}
