package cli

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIntegrationOCIInheritedFd: a descriptor that the caller of `kite
// create` leaves open without close-on-exec reaches none of the processes
// Kite leaves running (the sandbox process, the init proxy, QEMU,
// virtiofsd): once create has exited, the pipe's read end sees its end.
// --preserve-fds asks for what a VM cannot do and is refused by name.
func TestIntegrationOCIInheritedFd(t *testing.T) {
	e := newOCIEnv(t, "")
	bundle := e.bundle([]string{"sleep", "1000"}, nil)
	before := e.snapshot()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	errOut, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errOut.Close()
	devNull, _ := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	defer devNull.Close()
	cmd := exec.Command(self, "--root", e.root, "create", "--bundle", bundle, "i1")
	cmd.Env = append(os.Environ(), cliHelperEnv+"=1", "KITE_CONFIG="+e.config)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, devNull, errOut
	// fd 5 in kite create, without close-on-exec: above the descriptors
	// kite passes its own children.
	cmd.ExtraFiles = []*os.File{devNull, devNull, w}
	if err := cmd.Run(); err != nil {
		data, _ := os.ReadFile(errOut.Name())
		t.Fatalf("kite create: %v\n%s", err, data)
	}
	w.Close()
	for _, p := range processesNaming(e.root) {
		pid := 0
		fmt.Sscan(p, &pid)
		if held := holdsPipe(pid, r); held != "" {
			t.Errorf("process %s holds the inherited pipe as fd %s", p, held)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 1))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("read data from a pipe nobody wrote")
		}
	case <-time.After(5 * time.Second):
		t.Error("the inherited pipe's write end is still open in a process kite left running")
		r.Close()
	}
	e.mustKite("delete", "--force", "i1")
	e.audit(before, "a create with an inherited descriptor")

	code, _, errOut2 := e.kite("create", "--preserve-fds", "2", "--bundle", bundle, "i2")
	if code == 0 || !strings.Contains(errOut2, "preserve-fds") || !strings.Contains(errOut2, "cannot receive host descriptors") {
		t.Errorf("--preserve-fds 2: exit %d, %q; want it refused by name", code, errOut2)
	}
	e.mustKite("create", "--preserve-fds", "0", "--bundle", bundle, "i3")
	e.mustKite("delete", "--force", "i3")
	e.audit(before, "--preserve-fds")
}

// holdsPipe returns the fd number under which pid holds the pipe r's
// other end (same pipe inode), "" if it does not.
func holdsPipe(pid int, r *os.File) string {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(r.Fd()), &st); err != nil {
		return ""
	}
	want := fmt.Sprintf("pipe:[%d]", st.Ino)
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if link, err := os.Readlink(dir + "/" + en.Name()); err == nil && link == want {
			return en.Name()
		}
	}
	return ""
}
