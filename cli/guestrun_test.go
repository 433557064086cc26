package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
)

func TestGuestRunUsage(t *testing.T) {
	for _, args := range [][]string{
		{"guest", "run", "--", "true"},
		{"guest", "run", "--rootfs", "/tmp"},
	} {
		if code, _, errOut := run(t, nil, args...); code != exitUsage || !strings.Contains(errOut, "need --rootfs and a command") {
			t.Errorf("kite %v = %d, %q", args, code, errOut)
		}
	}
}

func TestIntegrationGuestRun(t *testing.T) {
	testutil.RequireRoot(t)
	kernel, _ := vmtest.GuestPaths(t)
	rootfs := vmtest.BusyboxRootfs(t)
	root := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "kite.toml")
	toml := "[guest]\ndir = \"" + filepath.Dir(kernel) + "\"\n[hypervisor]\naccel = \"" + testutil.Accel() + "\"\n"
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, map[string]string{"KITE_CONFIG": cfg},
		"--root", root, "guest", "run", "--rootfs", rootfs, "--timings", "--hostname", "h1",
		"--", "sh", "-c", "echo hi from $(hostname); echo err >&2; exit 4")
	if code != 4 || out != "hi from h1\n" || !strings.Contains(errOut, "err\n") {
		t.Fatalf("kite guest run = %d, stdout %q, stderr %q; want 4, greeting", code, out, errOut)
	}
	if !strings.Contains(errOut, "kernel + agent ready") {
		t.Errorf("--timings printed no breakdown: %q", errOut)
	}
	// The VM's directory, sockets and processes are gone.
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Errorf("sandbox state left under --root: %v", left)
	}

	// A rootfs that does not exist fails before anything starts.
	code, _, errOut = run(t, map[string]string{"KITE_CONFIG": cfg},
		"--root", root, "guest", "run", "--rootfs", filepath.Join(rootfs, "nope"), "--", "true")
	if code != exitError || !strings.Contains(errOut, "nope") {
		t.Errorf("missing rootfs: %d, %q; want an error naming it", code, errOut)
	}
	if left, _ := os.ReadDir(root); len(left) != 0 {
		t.Errorf("state left after a failed boot: %v", left)
	}
}
