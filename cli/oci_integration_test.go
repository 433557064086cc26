package cli

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/kite-vm/kite/oci/control"
	"github.com/kite-vm/kite/oci/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIntegrationOCIRun runs a container in the foreground: its output is
// the CLI's, its exit code the CLI's, and nothing is left afterwards.
func TestIntegrationOCIRun(t *testing.T) {
	e := newOCIEnv(t, "")
	bundle := e.bundle([]string{"sh", "-c", "echo out from $(hostname); echo err >&2; exit 3"}, nil)
	before := e.snapshot()
	code, out, errOut := e.kite("run", "--bundle", bundle, "r1")
	if code != 3 || out != "out from kitebox\n" || errOut != "err\n" {
		t.Errorf("kite run = %d, stdout %q, stderr %q; want 3, the greeting, err", code, out, errOut)
	}
	e.audit(before, "kite run")
}

// TestIntegrationOCILifecycle drives one container through create, start,
// exec, ps, list, pause, resume, kill and delete, checking the state at
// each step and the errors runc gives for the moves that are not allowed.
func TestIntegrationOCILifecycle(t *testing.T) {
	e := newOCIEnv(t, "")
	bundle := e.bundle([]string{"sh", "-c", "echo started; read line; echo got $line; sleep 1000"}, nil)
	before := e.snapshot()
	stdout, stderr := e.outputFiles()
	stdin, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pidFile := t.TempDir() + "/pid"
	if code := e.kiteIO(IO{In: stdin, Out: stdout, Err: stderr}, "create", "--bundle", bundle, "--pid-file", pidFile, "c1"); code != 0 {
		data, _ := os.ReadFile(stderr.Name())
		t.Fatalf("kite create = %d: %s", code, data)
	}
	stdin.Close()
	st := e.state("c1")
	pid, _ := os.ReadFile(pidFile)
	if st.Status != specs.StateCreated || st.Pid == 0 || string(pid) != itoa(st.Pid) || st.Bundle != bundle {
		t.Errorf("after create: %+v, pid file %q", st, pid)
	}
	e.expectFail("an id in use", "already exists", "create", "--bundle", bundle, "c1")
	e.mustKite("start", "c1")
	e.expectFail("start twice", "container c1 is running, cannot start", "start", "c1")
	if st := e.state("c1"); st.Status != specs.StateRunning {
		t.Errorf("after start: %s", st.Status)
	}
	// The container's stdio is create's.
	waitFile(t, stdout, "started\n")
	w.WriteString("hello\n")
	waitFile(t, stdout, "got hello\n")

	code, out, errOut := e.kite("exec", "-e", "X=42", "--cwd", "/tmp", "c1", "--", "sh", "-c", "echo $X in $(pwd); echo oops >&2; exit 5")
	if code != 5 || out != "42 in /tmp\n" || errOut != "oops\n" {
		t.Errorf("kite exec = %d, %q, %q; want 5, \"42 in /tmp\", oops", code, out, errOut)
	}
	procFile := filepath.Join(t.TempDir(), "process.json")
	proc, _ := json.Marshal(specs.Process{Args: []string{"sh", "-c", "echo from $SRC; exit 2"}, Cwd: "/", Env: []string{"SRC=a file"}})
	if err := os.WriteFile(procFile, proc, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := e.kite("exec", "--process", procFile, "c1"); code != 2 || out != "from a file\n" {
		t.Errorf("kite exec --process = %d, %q, %q; want 2, \"from a file\"", code, out, errOut)
	}
	if code, out, errOut := e.kite("exec", "--tty", "c1", "sh", "-c", "tty; echo x >&2"); code != 0 || out != "/dev/pts/0\r\nx\r\n" {
		t.Errorf("kite exec --tty = %d, %q, %q; want the terminal's name and stderr on it", code, out, errOut)
	}
	e.mustKite("exec", "--detach", "c1", "sh", "-c", "sleep 1000 & wait")
	var pids []int
	// The exec's shell runs its sleep as a child (once it has forked): ps
	// lists it too.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := json.Unmarshal([]byte(e.mustKite("ps", "--format", "json", "c1")), &pids)
		if err == nil && len(pids) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("kite ps --format json = %v, %v; want the init, the detached exec and its sleep", pids, err)
			break
		}
	}
	if out := e.mustKite("ps", "c1"); !strings.Contains(out, "init") || !strings.Contains(out, "exec exec-") || !strings.Contains(out, "child") {
		t.Errorf("kite ps:\n%s", out)
	}
	if out := e.mustKite("list"); !strings.Contains(out, "c1") || !strings.Contains(out, "running") || !strings.Contains(out, bundle) {
		t.Errorf("kite list:\n%s", out)
	}

	e.mustKite("pause", "c1")
	if st := e.state("c1"); st.Status != specs.ContainerState(state.StatusPaused) {
		t.Errorf("after pause: %s", st.Status)
	}
	e.expectFail("exec in a paused container", "is paused, cannot exec", "exec", "c1", "true")
	e.expectFail("pause twice", "is paused, cannot pause", "pause", "c1")
	e.mustKite("resume", "c1")
	if st := e.state("c1"); st.Status != specs.StateRunning {
		t.Errorf("after resume: %s", st.Status)
	}

	e.expectFail("delete of a running container", "cannot delete container c1 that is not stopped: running", "delete", "c1")
	e.expectFail("an invalid signal", "invalid signal", "kill", "c1", "SIGNOPE")
	if st := e.state("c1"); st.Status != specs.StateRunning {
		t.Errorf("after the refused commands: %s", st.Status)
	}
	e.mustKite("kill", "c1", "KILL")
	e.waitStatus("c1", specs.StateStopped)
	if code := e.recorded("c1").ExitCode; code == nil || *code != 137 {
		t.Errorf("exit code recorded after SIGKILL: %v, want 137", code)
	}
	e.expectFail("kill of a stopped container", "not running", "kill", "c1")
	e.mustKite("delete", "c1")
	e.audit(before, "create ... delete")
	e.expectFail("state after delete", `container "c1" does not exist`, "state", "c1")
}

// TestIntegrationOCIRunDetached runs a container in the background, then
// kills and deletes it.
func TestIntegrationOCIRunDetached(t *testing.T) {
	e := newOCIEnv(t, "")
	bundle := e.bundle([]string{"sleep", "1000"}, nil)
	before := e.snapshot()
	e.mustKite("run", "--detach", "--bundle", bundle, "d1")
	if st := e.state("d1"); st.Status != specs.StateRunning {
		t.Fatalf("after run --detach: %s", st.Status)
	}
	var list []containerState
	if err := json.Unmarshal([]byte(e.mustKite("list", "--format", "json")), &list); err != nil || len(list) != 1 || list[0].ID != "d1" {
		t.Errorf("kite list --format json = %+v, %v", list, err)
	}
	e.mustKite("kill", "--all", "d1", "9")
	st := e.waitStatus("d1", specs.StateStopped)
	if st.Pid != 0 {
		t.Errorf("a stopped container reports pid %d", st.Pid)
	}
	e.mustKite("delete", "d1")
	e.audit(before, "run --detach, kill, delete")
}

// TestIntegrationOCIKillCreated signals a container that was created and
// never started, as runc allows.
func TestIntegrationOCIKillCreated(t *testing.T) {
	e := newOCIEnv(t, "")
	bundle := e.bundle([]string{"sleep", "1000"}, nil)
	before := e.snapshot()
	e.mustKite("create", "--bundle", bundle, "k1")
	e.mustKite("kill", "k1", "SIGKILL")
	e.waitStatus("k1", specs.StateStopped)
	e.expectFail("start of a killed container", "container k1 is stopped, cannot start", "start", "k1")
	e.mustKite("delete", "k1")
	e.audit(before, "create, kill, delete")
}

// TestIntegrationOCITerminal runs containers on a terminal: once handing
// it to a console socket (runc's protocol), with the window size reaching
// the guest, and once in the foreground through the CLI.
func TestIntegrationOCITerminal(t *testing.T) {
	e := newOCIEnv(t, "")
	terminal := func(s *specs.Spec) { s.Process.Terminal = true }
	bundle := e.bundle([]string{"sh", "-c", "tty; while read x; do stty size; done"}, terminal)
	before := e.snapshot()
	master := e.createWithConsole(bundle, "t1")
	defer master.Close()
	e.mustKite("start", "t1")
	readUntil(t, master, "/dev/pts/0")
	// Each line typed makes the container print its terminal's size.
	for _, size := range [][2]uint16{{40, 120}, {50, 132}} {
		setSize(t, master, size[0], size[1])
		typeUntil(t, master, fmt.Sprintf("%d %d", size[0], size[1]))
	}
	// An exec on a terminal of its own: its size follows too.
	execMaster := e.withConsole(func(path string) {
		e.mustKite("exec", "--tty", "--detach", "--console-socket", path, "t1", "sh", "-c", "tty; while read x; do stty size; done")
	})
	defer execMaster.Close()
	readUntil(t, execMaster, "/dev/pts/")
	for _, size := range [][2]uint16{{30, 100}, {45, 160}} {
		setSize(t, execMaster, size[0], size[1])
		typeUntil(t, execMaster, fmt.Sprintf("%d %d", size[0], size[1]))
	}
	e.mustKite("delete", "--force", "t1")
	master.Close()
	execMaster.Close()
	e.audit(before, "a container on a console socket")

	fg := e.bundle([]string{"sh", "-c", "tty && echo on a terminal"}, terminal)
	code, out, errOut := e.kite("run", "--bundle", fg, "t2")
	if code != 0 || !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "on a terminal") {
		t.Errorf("kite run on a terminal = %d, %q, %q", code, out, errOut)
	}
	e.expectFail("a terminal without a console socket", "--console-socket is required", "create", "--bundle", fg, "t3")
	e.audit(before, "kite run on a terminal")
}

// createWithConsole creates a container, receiving its terminal's master
// on a console socket.
func (e *ociEnv) createWithConsole(bundle, id string) *os.File {
	e.t.Helper()
	return e.withConsole(func(path string) {
		e.mustKite("create", "--bundle", bundle, "--console-socket", path, id)
	})
}

// withConsole runs run with the path of a console socket, and returns the
// terminal master received on it.
func (e *ociEnv) withConsole(run func(path string)) *os.File {
	e.t.Helper()
	dir, err := os.MkdirTemp("", "ktc")
	if err != nil {
		e.t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		e.t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		f   *os.File
		err error
	}
	got := make(chan result, 1)
	go func() {
		f, err := control.ReceiveConsole(ln)
		got <- result{f, err}
	}()
	run(path)
	r := <-got
	if r.err != nil {
		e.t.Fatal(r.err)
	}
	return r.f
}

func setSize(t *testing.T, master *os.File, rows, cols uint16) {
	t.Helper()
	if err := pty.Setsize(master, &pty.Winsize{Rows: rows, Cols: cols}); err != nil {
		t.Fatal(err)
	}
}

// readUntil reads the terminal until its output holds want.
func readUntil(t *testing.T, master *os.File, want string) string {
	t.Helper()
	var out []byte
	buf := make([]byte, 4096)
	deadline := time.Now().Add(30 * time.Second)
	if err := master.SetReadDeadline(deadline); err != nil {
		t.Fatalf("the terminal takes no read deadline (a blocking fd would hang this test): %v", err)
	}
	for !strings.Contains(string(out), want) {
		n, err := master.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			t.Fatalf("reading the terminal: %v; read %q, want %q", err, out, want)
		}
	}
	return string(out)
}

// typeUntil types empty lines until the terminal's output holds want: a
// resize travels apart from the input, and may arrive after a line.
func typeUntil(t *testing.T, master *os.File, want string) {
	t.Helper()
	var out []byte
	buf := make([]byte, 4096)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if _, err := master.WriteString("\r"); err != nil {
			t.Fatal(err)
		}
		if err := master.SetReadDeadline(time.Now().Add(300 * time.Millisecond)); err != nil {
			t.Fatalf("the terminal takes no read deadline: %v", err)
		}
		for {
			n, err := master.Read(buf)
			out = append(out, buf[:n]...)
			if strings.Contains(string(out), want) {
				return
			}
			if err != nil {
				break
			}
		}
	}
	t.Fatalf("the terminal printed %q, never %q", out, want)
}

// expectFail runs the CLI and checks that it fails with exit code 1 and an
// error holding want.
func (e *ociEnv) expectFail(what, want string, args ...string) {
	e.t.Helper()
	code, _, errOut := e.kite(args...)
	if code != 1 || !strings.Contains(errOut, want) {
		e.t.Errorf("%s: kite %v = %d, %q; want exit 1 and %q", what, args, code, errOut, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
