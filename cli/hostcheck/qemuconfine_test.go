package hostcheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

// TestQEMUSeccompProbe: on, the probe asks QEMU itself whether it takes
// -sandbox; off is a visible warning.
func TestQEMUSeccompProbe(t *testing.T) {
	root := fakeRoot(t, map[string]string{
		// A QEMU built without seccomp refuses the option.
		"/bin/qemu-noseccomp": "#!/bin/sh\n[ \"$1\" = -sandbox ] && { echo '-sandbox support is not enabled in this QEMU binary' >&2; exit 1; }\necho 'QEMU emulator version 7.2.0'\n",
		"/bin/qemu":           "#!/bin/sh\n[ \"$1\" = -sandbox ] && [ \"$3\" = -version ] || exit 2\necho 'QEMU emulator version 7.2.0'\n",
	})
	ctx := context.Background()
	if r := probeQEMUSeccomp(ctx, Options{QEMUPath: root + "/bin/qemu", QEMUSeccomp: true}); r.Status != OK || !r.Required ||
		!strings.Contains(r.Detail, "obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny") {
		t.Errorf("on: %+v", r)
	}
	if r := probeQEMUSeccomp(ctx, Options{QEMUPath: root + "/bin/qemu-noseccomp", QEMUSeccomp: true}); r.Status != Fail ||
		!strings.Contains(r.Detail, "not enabled in this QEMU binary") || r.Hint == "" {
		t.Errorf("unsupported: %+v, want a required failure quoting QEMU", r)
	}
	if r := probeQEMUSeccomp(ctx, Options{QEMUPath: root + "/bin/qemu-noseccomp"}); r.Status != Warn || r.Required || !strings.Contains(r.Hint, "hypervisor.seccomp = true") {
		t.Errorf("off: %+v", r)
	}
}

func TestQEMUUserProbe(t *testing.T) {
	ctx := context.Background()
	fake := t.TempDir()
	for _, tc := range []struct {
		name   string
		o      Options
		status Status
		words  []string
	}{
		{"root", Options{QEMUUser: "root"}, Warn, []string{"every capability"}},
		{"missing user", Options{QEMUUser: "kite-no-such-user-here"}, Fail, []string{"no such user", "make setup"}},
		{"numbers", Options{Root: fake, QEMUUser: "1234:5678"}, OK, []string{"uid 1234, gid 5678", "9p chown, dac_override, fowner, fsetid", "VFIO ipc_lock"}},
		{"9p everywhere", Options{Root: fake, QEMUUser: "1234:5678", NinePEveryVM: true}, Warn, []string{"every QEMU keeps the 9p capabilities"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := probeQEMUUser(ctx, tc.o)
			if r.Status != tc.status {
				t.Errorf("%+v, want status %s", r, tc.status)
			}
			for _, w := range tc.words {
				if !strings.Contains(r.Detail, w) {
					t.Errorf("detail %q lacks %q", r.Detail, w)
				}
			}
			if r.Status != OK && r.Hint == "" {
				t.Errorf("not ok and no hint: %+v", r)
			}
		})
	}
}

// TestIntegrationQEMUUserReadsTheGuest: on the real host, a guest image
// the user cannot read fails the probe, naming the file.
func TestIntegrationQEMUUserReadsTheGuest(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir() // 0700
	kernel := filepath.Join(dir, "vmlinux")
	if err := os.WriteFile(kernel, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{QEMUUser: "65534:65534", KernelPath: kernel, InitrdPath: kernel}
	if r := probeQEMUUser(context.Background(), o); r.Status != Fail || !strings.Contains(r.Detail, "cannot read the guest kernel "+kernel) {
		t.Errorf("unreadable kernel: %+v", r)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if r := probeQEMUUser(context.Background(), o); r.Status != OK {
		t.Errorf("readable kernel: %+v", r)
	}
}
