package runtime

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
	fakeModeEnv     = "KITE_RUNTIME_FAKE_VIRTIOFSD"
	fakeLockEnv     = "KITE_RUNTIME_FAKE_LOCK"
	fakeChildPidEnv = "KITE_RUNTIME_FAKE_CHILD_PID"
	fakeSleeperEnv  = "KITE_RUNTIME_FAKE_SLEEPER"
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
