package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// reaper makes the test process a child subreaper, as conmon and the
// runc shim are, so that the processes `kite create` and `kite exec
// --pid-file` leave behind are reparented to it when kite exits, and their
// exit statuses can be read. It is undone at the end of the test.
type reaper struct {
	t *testing.T
	e *ociEnv
}

func newReaper(t *testing.T, e *ociEnv) *reaper {
	t.Helper()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	r := &reaper{t: t, e: e}
	t.Cleanup(func() {
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
		// What was adopted and has exited: the pid-file processes, the
		// sandbox processes, and the VM's processes of the one killed.
		for _, p := range allProcesses() {
			if p.ppid == os.Getpid() && p.state == 'Z' {
				var ws unix.WaitStatus
				unix.Wait4(p.pid, &ws, unix.WNOHANG, nil)
			}
		}
	})
	return r
}

// kite runs the CLI in a process of its own (this test binary as kite),
// so that what it starts is orphaned to the reaper when it exits.
func (r *reaper) kite(args ...string) (int, string) {
	r.t.Helper()
	self, err := os.Executable()
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command(self, append([]string{"--root", r.e.root}, args...)...)
	cmd.Env = append(os.Environ(), cliHelperEnv+"=1", "KITE_CONFIG="+r.e.config)
	devNull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	defer devNull.Close()
	// A file, not a pipe: create's stdio becomes the container's, held
	// by the sandbox process, and a pipe would never end.
	errOut, err := os.CreateTemp(r.t.TempDir(), "stderr")
	if err != nil {
		r.t.Fatal(err)
	}
	defer errOut.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devNull, devNull, errOut
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	data, _ := os.ReadFile(errOut.Name())
	return code, string(data)
}

// create creates a container from a process of its own and returns the
// pid its --pid-file names.
func (r *reaper) create(bundle, id string) int {
	r.t.Helper()
	pidFile := filepath.Join(r.t.TempDir(), "pid")
	if code, errOut := r.kite("create", "--bundle", bundle, "--pid-file", pidFile, id); code != 0 {
		r.t.Fatalf("kite create = %d: %s", code, errOut)
	}
	return readPid(r.t, pidFile)
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(data))
	if err != nil {
		t.Fatalf("pid file %s holds %q", path, data)
	}
	return pid
}

// wait reaps pid, an orphan adopted here, within a minute.
func (r *reaper) wait(pid int) unix.WaitStatus {
	r.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if err != nil {
			r.t.Fatalf("waiting for %d: %v (not adopted by the test?)", pid, err)
		}
		if got == pid {
			return ws
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("process %d has not exited", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return "exit " + strconv.Itoa(ws.ExitStatus())
}

// TestIntegrationOCIPidFile checks that the --pid-file process stands for
// the container's init as runc's does, for a subreaper that reaps it
// (conmon, the runc shim): it exits with the init's status, or by the
// signal that killed the init; the signals sent to it reach the init; a
// SIGKILL to it kills the container; the sandbox process dying ends it;
// and `exec --pid-file --detach` does the same for an exec.
func TestIntegrationOCIPidFile(t *testing.T) {
	e := newOCIEnv(t, "")
	r := newReaper(t, e)
	// sh as the init of a pid namespace gets only the signals it handles.
	trapper := e.bundle([]string{"sh", "-c", "trap 'exit 3' TERM; sleep 1000 & wait"}, nil)
	before := e.snapshot()

	t.Run("exit status", func(t *testing.T) {
		r.t, e.t = t, t
		pid := r.create(e.bundle([]string{"sh", "-c", "exit 7"}, nil), "p1")
		if st := e.state("p1"); st.Pid != pid || st.Status != specs.StateCreated {
			t.Errorf("kite state = pid %d, %s; want the pid file's %d, created", st.Pid, st.Status, pid)
		}
		e.mustKite("start", "p1")
		if ws := r.wait(pid); !ws.Exited() || ws.ExitStatus() != 7 {
			t.Errorf("the pid-file process ended: %s, want exit 7", describe(ws))
		}
		// Whoever saw it exit reads a stopped container.
		if st := e.state("p1"); st.Status != specs.StateStopped || st.Pid != 0 {
			t.Errorf("after the exit: %s, pid %d", st.Status, st.Pid)
		}
		e.mustKite("delete", "p1")
	})

	t.Run("signals reach the init", func(t *testing.T) {
		r.t, e.t = t, t
		pid := r.create(trapper, "p2")
		e.mustKite("start", "p2")
		// Let the trap be set: ps in the container shows the sleep.
		waitExec(t, e, "p2", "sleep 1000")
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if ws := r.wait(pid); !ws.Exited() || ws.ExitStatus() != 3 {
			t.Errorf("after SIGTERM to the pid-file process: %s, want exit 3 (the trap's)", describe(ws))
		}
		e.mustKite("delete", "p2")
	})

	t.Run("killed init", func(t *testing.T) {
		r.t, e.t = t, t
		pid := r.create(e.bundle([]string{"sleep", "1000"}, nil), "p3")
		e.mustKite("start", "p3")
		e.mustKite("kill", "p3", "KILL")
		if ws := r.wait(pid); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("after kite kill KILL: %s, want killed by SIGKILL", describe(ws))
		}
		e.mustKite("delete", "p3")
	})

	t.Run("SIGKILL to the pid kills the container", func(t *testing.T) {
		r.t, e.t = t, t
		pid := r.create(e.bundle([]string{"sleep", "1000"}, nil), "p4")
		e.mustKite("start", "p4")
		syscall.Kill(pid, syscall.SIGKILL)
		r.wait(pid)
		// The state reads stopped at once (the pid is gone); the sandbox
		// process records the exit once the kill it sent has landed.
		e.waitStatus("p4", specs.StateStopped)
		if code := waitRecordedExit(t, e, "p4"); code != 137 {
			t.Errorf("the container's exit after its pid got SIGKILL: %d, want 137", code)
		}
		e.mustKite("delete", "p4")
	})

	t.Run("the sandbox process dies", func(t *testing.T) {
		r.t, e.t = t, t
		pid := r.create(e.bundle([]string{"sleep", "1000"}, nil), "p5")
		e.mustKite("start", "p5")
		syscall.Kill(e.recorded("p5").Pid, syscall.SIGKILL)
		if ws := r.wait(pid); !ws.Exited() || ws.ExitStatus() != 255 {
			t.Errorf("after the sandbox process died: %s, want exit 255 (unknown)", describe(ws))
		}
		if st := e.state("p5"); st.Status != specs.StateStopped {
			t.Errorf("after the sandbox process died: %s", st.Status)
		}
		e.mustKite("delete", "p5")
	})

	t.Run("exec", func(t *testing.T) {
		r.t, e.t = t, t
		pid := r.create(trapper, "p6")
		e.mustKite("start", "p6")
		pidFile := filepath.Join(t.TempDir(), "exec.pid")
		if code, errOut := r.kite("exec", "--detach", "--pid-file", pidFile, "p6", "sh", "-c", "exit 5"); code != 0 {
			t.Fatalf("kite exec --detach --pid-file = %d: %s", code, errOut)
		}
		if ws := r.wait(readPid(t, pidFile)); !ws.Exited() || ws.ExitStatus() != 5 {
			t.Errorf("the exec's pid-file process: %s, want exit 5", describe(ws))
		}
		if code, errOut := r.kite("exec", "--detach", "--pid-file", pidFile, "p6", "sh", "-c", "trap 'exit 4' TERM; sleep 1000 & wait"); code != 0 {
			t.Fatalf("kite exec --detach --pid-file = %d: %s", code, errOut)
		}
		execPid := readPid(t, pidFile)
		waitExec(t, e, "p6", "exit 4")
		syscall.Kill(execPid, syscall.SIGTERM)
		if ws := r.wait(execPid); !ws.Exited() || ws.ExitStatus() != 4 {
			t.Errorf("the exec's pid-file process after SIGTERM: %s, want exit 4", describe(ws))
		}
		if st := e.state("p6"); st.Status != specs.StateRunning {
			t.Errorf("the container after its exec ended: %s", st.Status)
		}
		e.mustKite("delete", "--force", "p6")
		if ws := r.wait(pid); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Errorf("the init's pid-file process after delete --force: %s, want killed by SIGKILL", describe(ws))
		}
	})
	r.t, e.t = t, t
	e.audit(before, "containers run through their pid-file processes")
}

// waitRecordedExit waits until the sandbox process has recorded the
// container's exit, and returns its code.
func waitRecordedExit(t *testing.T, e *ociEnv, id string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code := e.recorded(id).ExitCode; code != nil {
			return *code
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: no exit recorded", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitExec waits until a process whose command line holds want runs in
// the container.
func waitExec(t *testing.T, e *ociEnv, id, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, out, _ := e.kite("exec", id, "ps", "-o", "args")
		if strings.Contains(out, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no process %q in container %s: ps says %q", want, id, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
