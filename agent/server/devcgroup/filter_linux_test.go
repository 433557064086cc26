package devcgroup

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
)

// testCgroup makes a cgroup under the machine's cgroup2 mount, removed at
// the end (which also detaches its programs).
func testCgroup(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var mnt string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, " - cgroup2 ") {
			mnt = strings.Fields(line)[4]
			break
		}
	}
	if mnt == "" {
		testutil.Skip(t, "no cgroup2 mount", "mount -t cgroup2 none /sys/fs/cgroup/unified")
	}
	dir := filepath.Join(mnt, fmt.Sprintf("kite-test-devcgroup-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Rmdir(dir); err != nil {
			t.Errorf("removing the test cgroup: %v", err)
		}
	})
	return dir
}

// opens runs a shell in the cgroup that opens each path with the
// redirection given ("<" to read, ">" to write) and reports which opened.
func opens(t *testing.T, cg string, probes ...string) string {
	t.Helper()
	sh := testutil.RequireBinary(t, "/bin/busybox", "busybox-static")
	var script strings.Builder
	for _, p := range probes {
		fmt.Fprintf(&script, "if (exec 3%s) 2>/dev/null; then echo -n 'ok '; else echo -n 'denied '; fi; ", p)
	}
	dir, err := os.Open(cg)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	cmd := exec.Command(sh, "sh", "-c", script.String())
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probe shell: %v: %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestIntegrationFilter attaches real programs to a cgroup of the host and
// opens devices from a process in it: the defaults let /dev/null and
// /dev/zero open and keep /dev/kmsg and /dev/console shut, a rule adds
// /dev/full, and Replace swaps the program for a stricter one.
func TestIntegrationFilter(t *testing.T) {
	cg := testCgroup(t)
	probes := []string{"</dev/null", ">/dev/null", "</dev/zero", ">/dev/full", "</dev/kmsg", "</dev/console"}
	if got := opens(t, cg, probes...); got != "ok ok ok ok ok ok" {
		t.Fatalf("without a filter: %q; the test needs every probe to open", got)
	}

	rules := append([]Rule{denyAll}, DefaultRules...)
	tb, err := Plan(rules)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Attach(cg, tb)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := opens(t, cg, probes...); got != "ok ok ok ok denied denied" {
		t.Errorf("with the default rules: %q, want /dev/kmsg and /dev/console denied", got)
	}

	// Everything allowed but /dev/full: the console and kmsg stay shut.
	tb, err = Plan([]Rule{allowAll, char(false, 1, 7, AccessAll)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Replace(tb); err != nil {
		t.Fatal(err)
	}
	if got := opens(t, cg, probes...); got != "ok ok ok denied denied denied" {
		t.Errorf("after Replace: %q, want /dev/full, /dev/kmsg and /dev/console denied", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// The cgroup keeps the program after the agent lets go of it.
	if got := opens(t, cg, probes...); got != "ok ok ok denied denied denied" {
		t.Errorf("after Close: %q, want the program still attached", got)
	}
	if err := f.Replace(tb); err == nil {
		t.Error("Replace after Close succeeded")
	}
}

func TestAttachRefusesAMissingCgroup(t *testing.T) {
	testutil.RequireRoot(t)
	if _, err := Attach(filepath.Join(t.TempDir(), "gone"), Table{}); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("Attach to a missing cgroup = %v, want an error naming it", err)
	}
}
