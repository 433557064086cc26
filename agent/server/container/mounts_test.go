package container

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

func TestIntegrationMounts(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	vol := t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "f"), []byte("from the volume\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", `
		cat /data/vol/f
		touch /data/vol/new 2>&1
		touch /data/rw/new && echo rw ok
		grep -E ' /(tmp|proc|dev/pts|data/vol) ' /proc/self/mounts | cut -d' ' -f2,3,4 | cut -d, -f1
		ls /dev`)
	spec.Mounts = append(spec.Mounts,
		Mount{Destination: "/data/vol", Type: "bind", Source: vol, Options: []string{"rbind", "ro", "nosuid"}},
		Mount{Destination: "/data/rw", Type: "bind", Source: vol, Options: []string{"rbind"}},
	)
	before := mountTable(t)
	got := run(t, r, spec)
	want := "from the volume\n" +
		"touch: /data/vol/new: Read-only file system\n" +
		"rw ok\n" +
		"/proc proc rw\n/dev/pts devpts rw\n/tmp tmpfs rw\n/data/vol ext4 ro\n" +
		"fd\nfull\nnull\nptmx\npts\nrandom\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n"
	if got.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s\nstderr: %s", got.stdout, want, got.stderr)
	}
	if _, err := os.Stat(filepath.Join(vol, "new")); err != nil {
		t.Errorf("the read-write bind did not write through: %v", err)
	}
	if after := mountTable(t); after != before {
		t.Errorf("the agent's mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestIntegrationMountDestinationEscapes(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	outside := t.TempDir() // stands for a guest directory next to the rootfs
	tests := []struct {
		name, dest string
		link       [2]string // symlink in the rootfs: name, target
	}{
		{"dotdot", "/../" + filepath.Base(outside), [2]string{}},
		{"relative symlink", "/data/escape/sub", [2]string{"data/escape", "../../" + filepath.Base(outside)}},
		{"dotdot through absolute symlink", "/data/abs/../../x", [2]string{"data/abs", "/etc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := busyboxRootfs(t)
			// Put the rootfs next to outside, so that the escape would
			// land there.
			sibling := filepath.Join(filepath.Dir(outside), "rootfs-"+strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.Rename(root, sibling); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(sibling) })
			if tt.link[0] != "" {
				if err := os.Symlink(tt.link[1], filepath.Join(sibling, tt.link[0])); err != nil {
					t.Fatal(err)
				}
			}
			spec := baseSpec(t, sibling, "true")
			spec.Mounts = append(spec.Mounts, Mount{Destination: tt.dest, Type: "tmpfs", Source: "tmpfs"})
			before := mountTable(t)
			_, err := Create(testCtx(t), spec, r, Options{})
			if !errors.Is(err, ErrInvalidSpec) && !errors.Is(err, ErrEscapesRoot) {
				t.Fatalf("Create() = %v, want the destination rejected", err)
			}
			if !strings.Contains(err.Error(), tt.dest) {
				t.Errorf("error %q does not name the destination %q", err, tt.dest)
			}
			if after := mountTable(t); after != before {
				t.Errorf("the agent's mount table changed")
			}
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("something was created outside the rootfs: %v", entries)
			}
		})
	}
}

func TestIntegrationAbsoluteSymlinkStaysInRoot(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	root := busyboxRootfs(t)
	// /data/etc -> /etc means the container's /etc, as in images where
	// /var/run -> /run: the mount lands on <rootfs>/etc/sub.
	if err := os.Symlink("/etc", filepath.Join(root, "data/etc")); err != nil {
		t.Fatal(err)
	}
	spec := baseSpec(t, root, "sh", "-c", "grep ' /etc/sub ' /proc/self/mounts | cut -d' ' -f2,3")
	spec.Mounts = append(spec.Mounts, Mount{Destination: "/data/etc/sub", Type: "tmpfs", Source: "tmpfs"})
	got := run(t, r, spec)
	if got.stdout != "/etc/sub tmpfs\n" {
		t.Errorf("stdout = %q (stderr %q), want the tmpfs on the container's /etc/sub", got.stdout, got.stderr)
	}
	if _, err := os.Stat("/etc/sub"); err == nil {
		t.Error("/etc/sub was created on the host")
	}
	if _, err := os.Stat(filepath.Join(root, "etc/sub")); err != nil {
		t.Errorf("mount point not created in the rootfs: %v", err)
	}
}

func TestIntegrationMaskedAndReadonlyPaths(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", `
		wc -c < /proc/timer_list
		ls /sys/firmware | wc -l
		echo x > /proc/sys/kernel/domainname
		touch /newfile
		touch /tmp/newfile && echo tmp ok`)
	spec.Mounts = append(spec.Mounts, Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}})
	// Both are non-empty on the host; kcore is missing from this kernel.
	if b, err := os.ReadFile("/proc/timer_list"); err != nil || len(b) == 0 {
		t.Fatalf("host /proc/timer_list: %d bytes, %v", len(b), err)
	}
	if e, err := os.ReadDir("/sys/firmware"); err != nil || len(e) == 0 {
		t.Fatalf("host /sys/firmware: %v, %v", e, err)
	}
	spec.MaskedPaths = []string{"/proc/timer_list", "/sys/firmware", "/proc/does-not-exist"}
	spec.ReadonlyPaths = []string{"/proc/sys", "/proc/also-missing"}
	spec.ReadonlyRootfs = true
	got := run(t, r, spec)
	if want := "0\n0\ntmp ok\n"; got.stdout != want {
		t.Errorf("stdout = %q, want %q", got.stdout, want)
	}
	wantErr := "sh: can't create /proc/sys/kernel/domainname: Read-only file system\n" +
		"touch: /newfile: Read-only file system\n"
	if got.stderr != wantErr {
		t.Errorf("stderr = %q, want %q", got.stderr, wantErr)
	}
}
