package vmtest

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

// BusyboxApplets are linked in a test rootfs.
var busyboxApplets = []string{
	"sh", "cat", "echo", "sleep", "id", "hostname", "ls", "mount", "ps", "readlink",
	"uname", "true", "false", "tty", "stty", "env", "pwd", "kill", "ulimit", "grep",
}

// BusyboxRootfs builds a minimal container rootfs (Debian's static busybox
// and a few applet links) in a new temp dir and returns its path.
func BusyboxRootfs(t testing.TB) string {
	t.Helper()
	src := testutil.RequireBinary(t, "/bin/busybox", "busybox-static")
	root := t.TempDir()
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "root"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(filepath.Join(root, "bin", "busybox"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
