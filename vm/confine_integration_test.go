package vm_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
	"golang.org/x/sys/unix"
)

// TestIntegrationBootConfined boots with the default posture and checks it
// on the running processes: QEMU runs as hypervisor.user under its seccomp
// filter with no_new_privs and holds no capability but those its data path
// needs (none for virtio-fs, NinePCaps for 9p), and neither QEMU nor
// virtiofsd inherited a descriptor the test left open without
// close-on-exec. A container then writes into its root file system, served
// by that share, as root and as another user, and the host sees each file
// with the guest's ownership.
func TestIntegrationBootConfined(t *testing.T) {
	for _, driver := range []configs.FSDriver{configs.FSVirtioFS, configs.FSVirtio9P} {
		t.Run(string(driver), func(t *testing.T) {
			testutil.RequireRoot(t)
			if driver == configs.FSVirtioFS {
				testutil.RequireVirtiofsd(t)
			}
			user, err := qemu.LookupUser(configs.Default().Hypervisor.User)
			if err != nil || user == nil {
				t.Fatalf("QEMU's user: %v (make setup creates it)", err)
			}
			leaked := leakFD(t)
			rootfs := vmtest.BusyboxRootfs(t)
			v := vmtest.Start(t, vmtest.Options{Rootfs: rootfs, SharedFS: driver})

			pid := v.Proc.Pid()
			wantCaps := []qemu.Capability(nil)
			if driver == configs.FSVirtio9P {
				wantCaps = qemu.NinePCaps
			}
			if vm.DetectHost("").VFIO {
				wantCaps = append(wantCaps, qemu.VFIOCaps...)
			}
			st := procStatus(t, pid)
			for k, w := range map[string]string{
				"Uid":        fmt.Sprintf("%d\t%d\t%d\t%d", user.UID, user.UID, user.UID, user.UID),
				"Gid":        fmt.Sprintf("%d\t%d\t%d\t%d", user.GID, user.GID, user.GID, user.GID),
				"Seccomp":    "2",
				"NoNewPrivs": "1",
				"CapEff":     capMask(wantCaps),
				"CapPrm":     capMask(wantCaps),
			} {
				if st[k] != w {
					t.Errorf("QEMU's %s = %q, want %q", k, st[k], w)
				}
			}
			pids := []int{pid}
			for _, a := range v.Plan.Attachments {
				if s, ok := a.(interface{ Daemon() *fsshare.Virtiofsd }); ok && s.Daemon() != nil {
					pids = append(pids, s.Daemon().Pid())
				}
			}
			if driver == configs.FSVirtioFS && len(pids) != 2 {
				t.Fatalf("no virtiofsd found among %d attachments", len(v.Plan.Attachments))
			}
			for _, p := range pids {
				for _, f := range openFiles(t, p) {
					if f == leaked {
						t.Errorf("process %d inherited the test's descriptor on %s", p, leaked)
					}
				}
			}

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := "echo hi > /by-root && echo hi > /by-1234 && chown 1234:1234 /by-1234 && chmod 4755 /by-1234"
			want := map[string]fileOwner{"by-root": {0, unix.S_IFREG}, "by-1234": {1234, unix.S_IFREG | unix.S_ISUID}}
			if driver == configs.FSVirtioFS {
				// Over 9p QEMU 7.2 refuses device nodes ("attempt to
				// open special file"), running as root too.
				cmd += " && mknod /dev-null c 1 3"
				want["dev-null"] = fileOwner{0, unix.S_IFCHR}
			}
			if out, code := v.Run(t, ctx, vmtest.Container{Args: []string{"/bin/sh", "-c", cmd},
				Caps: []string{"CAP_CHOWN", "CAP_FOWNER", "CAP_FSETID", "CAP_MKNOD", "CAP_DAC_OVERRIDE"}}); code != 0 {
				t.Fatalf("the container's writes through %s: exit %d\n%s", driver, code, out)
			}
			for name, w := range want {
				var fi unix.Stat_t
				if err := unix.Lstat(filepath.Join(rootfs, name), &fi); err != nil {
					t.Errorf("the host does not see %s: %v", name, err)
					continue
				}
				if fi.Uid != w.uid || fi.Gid != w.uid || fi.Mode&(unix.S_IFMT|unix.S_ISUID) != w.mode {
					t.Errorf("%s: owner %d:%d mode %o on the host, want %d:%d and type/set-id %o", name, fi.Uid, fi.Gid, fi.Mode, w.uid, w.uid, w.mode)
				}
			}
		})
	}
}

// fileOwner is a file's expected owner (uid and gid) and type with set-id bits.
type fileOwner struct {
	uid  uint32
	mode uint32
}

// leakFD opens a file without close-on-exec, as a careless parent of the
// runtime would leave one, and returns its path.
func leakFD(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "leaked")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return path
}

// openFiles lists what the process's descriptors point to.
func openFiles(t *testing.T, pid int) []string {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil {
			out = append(out, target)
		}
	}
	return out
}

// procStatus reads /proc/<pid>/status into key -> value.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	st := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			st[k] = strings.TrimSpace(v)
		}
	}
	return st
}

// capMask renders caps as /proc/<pid>/status does (CapEff: 16 hex digits).
func capMask(caps []qemu.Capability) string {
	var m uint64
	for _, c := range caps {
		m |= 1 << uint(c)
	}
	return fmt.Sprintf("%016x", m)
}
