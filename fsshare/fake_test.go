package fsshare

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as a fake virtiofsd, so that starting, readiness and
// stopping are tested without root. fakeModeEnv selects its behaviour:
//
//	serve        listen on --socket-path, write the lock file, exit 0 on SIGTERM
//	ignore-term  like serve, but ignore SIGTERM
//	exit         print to stderr and exit 3 at once
//	hang         never create the socket
//
// With fakeChildPidEnv set it also starts a child in its process group (as
// the real one forks into its sandbox) and writes the child's pid there.
const (
	fakeModeEnv     = "KITE_FSSHARE_FAKE_VIRTIOFSD"
	fakeLockEnv     = "KITE_FSSHARE_FAKE_LOCK"
	fakeChildPidEnv = "KITE_FSSHARE_FAKE_CHILD_PID"
	fakeSleeperEnv  = "KITE_FSSHARE_FAKE_SLEEPER"
)

func TestMain(m *testing.M) {
	if os.Getenv(fakeSleeperEnv) != "" {
		time.Sleep(time.Hour)
		os.Exit(0)
	}
	if mode := os.Getenv(fakeModeEnv); mode != "" {
		os.Exit(fakeVirtiofsd(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeVirtiofsd(mode string, args []string) int {
	var socket string
	for _, a := range args {
		if s, ok := strings.CutPrefix(a, "--socket-path="); ok {
			socket = s
		}
	}
	fmt.Fprintf(os.Stderr, "fake virtiofsd %s: args %q\n", mode, args)
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "fake virtiofsd: cannot serve, giving up")
		return 3
	case "hang":
		time.Sleep(time.Hour)
		return 0
	}
	if pidFile := os.Getenv(fakeChildPidEnv); pidFile != "" {
		child := exec.Command(os.Args[0])
		child.Env = append(os.Environ(), fakeSleeperEnv+"=1", fakeModeEnv+"=")
		if err := child.Start(); err != nil {
			return 4
		}
		os.WriteFile(pidFile, []byte(fmt.Sprint(child.Process.Pid)), 0o644)
	}
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	ln, err := net.Listen("unix", socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 5
	}
	defer ln.Close()
	if lock := os.Getenv(fakeLockEnv); lock != "" {
		os.WriteFile(lock, []byte(fmt.Sprint(os.Getpid())), 0o600)
	}
	for range terms {
		if mode != "ignore-term" {
			return 0
		}
	}
	return 0
}

// fakePlan is a VirtiofsdPlan running the fake in mode, in a short temp dir
// (socket paths are limited to 107 bytes).
func fakePlan(t *testing.T, mode string) VirtiofsdPlan {
	t.Helper()
	t.Setenv(fakeModeEnv, mode)
	dir := shortTempDir(t)
	lock := filepath.Join(dir, "lock.pid")
	t.Setenv(fakeLockEnv, lock)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return VirtiofsdPlan{
		ID: "share0", Tag: "rootfs", HostPath: dir, Binary: self,
		Args:       []string{"--socket-path=" + filepath.Join(dir, "share0.sock"), "-o", "source=" + dir},
		SocketPath: filepath.Join(dir, "share0.sock"),
		LogPath:    filepath.Join(dir, "share0.log"),
		LockFile:   lock,
	}
}

// shortTempDir is a temp dir under /tmp, removed when the test ends.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kite-fs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A bind mount leaked by a failing test must not keep the dir.
		for _, m := range mountsUnder(t, dir) {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
		os.RemoveAll(dir)
	})
	return dir
}

// alive reports whether pid is a live process (a zombie counts as dead).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// killAtEnd kills pid when the test ends, in case the code under test failed
// to.
func killAtEnd(t *testing.T, pid int) {
	t.Cleanup(func() {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func waitDead(t *testing.T, pid int, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !alive(pid) {
			return
		}
	}
	t.Errorf("%s (pid %d) still runs", what, pid)
}

// wantNoProcess fails the test for every live process whose command line
// mentions s (a path unique to the test), and kills it: other tests on the
// machine may run virtiofsd at the same time.
func wantNoProcess(t *testing.T, s string) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmdline), s) && alive(pid) {
			t.Errorf("process %d still runs: %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
			killAtEnd(t, pid)
		}
	}
}

// mountsUnder lists the mount points under dir.
func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			mounts = append(mounts, fields[4])
		}
	}
	return mounts
}
