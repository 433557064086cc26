// Package testutil holds helpers shared by Kite's tests: gates for tests that
// need root, QEMU or other host facilities. A gate skips with a hint that says
// how to fix the machine, except under KITE_TEST_STRICT=1 (set by `make test`
// and CI), where a missing facility fails the test: nothing is silently skipped
// there.
package testutil

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// StrictEnv is the environment variable that turns skips into failures.
const StrictEnv = "KITE_TEST_STRICT"

// Strict reports whether skips are failures in this run.
func Strict() bool { return os.Getenv(StrictEnv) == "1" }

// Skip skips the test with the reason and a remediation hint, or fails it when
// Strict() is true.
func Skip(t testing.TB, reason, hint string) {
	t.Helper()
	if Strict() {
		t.Fatalf("%s (%s=1 forbids skipping; fix: %s)", reason, StrictEnv, hint)
	}
	t.Skipf("%s; try: %s", reason, hint)
}

// skipShort skips integration tests under `go test -short` (make unit).
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped under -short")
	}
}

// RequireRoot gates a test that needs uid 0.
func RequireRoot(t testing.TB) {
	t.Helper()
	skipShort(t)
	if os.Geteuid() != 0 {
		Skip(t, "test needs root", "run the tests as root (sudo make test)")
	}
}

// RequireBinary gates a test on an executable, returning its path. name may be
// a bare name looked up in PATH or an absolute path.
func RequireBinary(t testing.TB, name, pkg string) string {
	t.Helper()
	skipShort(t)
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, name+" not found", "apt-get install -y "+pkg+" (or make setup)")
	}
	return p
}

// RequireQEMU gates a test on qemu-system-x86_64 and returns its path.
// KITE_TEST_QEMU overrides the binary.
func RequireQEMU(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KITE_TEST_QEMU"); p != "" {
		return RequireBinary(t, p, "qemu-system-x86")
	}
	return RequireBinary(t, "qemu-system-x86_64", "qemu-system-x86")
}

// RequireVirtiofsd gates a test on virtiofsd and returns its path.
func RequireVirtiofsd(t testing.TB) string {
	t.Helper()
	skipShort(t)
	const p = "/usr/lib/qemu/virtiofsd"
	if _, err := os.Stat(p); err != nil {
		Skip(t, "virtiofsd not found at "+p, "apt-get install -y qemu-system-common (or make setup)")
	}
	return p
}

// Accel returns the QEMU accelerator tests should use: KITE_TEST_ACCEL when
// set ("kvm" or "tcg"), else "kvm" when /dev/kvm opens read-write and is not
// the PVM flavour of KVM (kvm_pvm loaded: it only runs guest kernels built for
// PVM, not Debian's), else "tcg".
func Accel() string {
	if a := os.Getenv("KITE_TEST_ACCEL"); a != "" {
		return a
	}
	if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
		return "tcg"
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return "tcg"
	}
	f.Close()
	return "kvm"
}

// ChownTree gives every file under root (root included, links not
// followed) to uid and gid: a root file system for a container in a user
// namespace, as runc needs it.
func ChownTree(t testing.TB, root string, uid, gid int) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}
