package fdclose

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOnExec: a descriptor opened without close-on-exec reaches a child
// before OnExec and not after, while ExtraFiles still do.
func TestOnExec(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leaked")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	passed, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer passed.Close()
	childFDs := func() []string {
		cmd := exec.Command("/bin/sh", "-c", "ls /proc/$$/fd")
		cmd.ExtraFiles = []*os.File{passed}
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(out))
	}
	leakedFD := strconv.Itoa(fd)
	if !slices.Contains(childFDs(), leakedFD) {
		t.Fatalf("fd %d did not leak to begin with: the test proves nothing", fd)
	}
	if err := OnExec(); err != nil {
		t.Fatal(err)
	}
	got := childFDs()
	if slices.Contains(got, leakedFD) {
		t.Errorf("fd %d still reaches the child after OnExec: %v", fd, got)
	}
	if !slices.Contains(got, "3") {
		t.Errorf("ExtraFiles[0] is not fd 3 in the child: %v", got)
	}
	if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("fd %d flags %#x, %v: want close-on-exec", fd, flags, err)
	}
}
