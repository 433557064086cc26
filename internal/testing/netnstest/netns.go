package netnstest

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
)

// runDir is where `ip netns add` bind-mounts named network namespaces.
const runDir = "/run/netns"

const (
	// leaveTimeout bounds the wait, at deletion, for the processes still in
	// a netns to exit (a killed process is gone once reaped, but one the
	// test did not wait for may take a moment).
	leaveTimeout = 10 * time.Second
	// removeTimeout bounds the retries of a removal refused with EBUSY.
	removeTimeout = 2 * time.Second
	pollInterval  = 50 * time.Millisecond
)

// NewNetns creates a named netns (/run/netns/kite-<role>-<hex>), deleted
// at test end (see addNetns), and returns its path.
func NewNetns(t testing.TB, role string) string {
	t.Helper()
	testutil.RequireRoot(t)
	name := "kite-" + role + "-" + suffix()
	addNetns(t, name)
	return filepath.Join(runDir, name)
}

// addNetns creates the named netns with `ip netns add` and deletes it at
// test end. Every named netns of Kite's tests is made here, with ip,
// because ip makes /run/netns a shared mount point before it bind-mounts a
// netns into it. A netns bind-mounted onto /run/netns/NAME while /run/netns
// is still a plain directory (what vishvananda/netns.NewNamed does) is
// hidden, not moved, when a concurrent test's `ip netns add` then turns
// /run/netns into a mount point: deleting NAME unmounts only the visible
// copy, and removing the file fails with EBUSY until the host reboots.
func addNetns(t testing.TB, name string) {
	t.Helper()
	testutil.RequireBinary(t, "ip", "iproute2")
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if err := deleteNetns(name, leaveTimeout); err != nil {
			t.Error(err)
		}
	})
}

// deleteNetns waits up to leave for the processes still in the netns to
// exit, then unmounts and removes its file, retrying a removal refused
// with EBUSY for a moment. A process that stays, or a file that cannot be
// removed, is an error: both are leaks, and the error names the culprit.
// The file is removed even when a process stays.
func deleteNetns(name string, leave time.Duration) error {
	path := filepath.Join(runDir, name)
	var errs []error
	if pids := waitLeft(path, leave); len(pids) > 0 {
		errs = append(errs, fmt.Errorf("netns %s is still used after %s by %s: a leak", name, leave, describe(pids)))
	}
	if err := unmountAndRemove(path, removeTimeout); err != nil {
		errs = append(errs, fmt.Errorf("deleting netns %s: %w%s", name, err, explainMounts(path)))
	}
	return errors.Join(errs...)
}

// waitLeft waits until no process is in the netns at path, or for d, and
// returns the processes still in it.
func waitLeft(path string, d time.Duration) []int {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil // gone already: nothing to wait for
	}
	link := "net:[" + strconv.FormatUint(st.Ino, 10) + "]"
	deadline := time.Now().Add(d)
	for {
		pids := processesIn(link)
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(pollInterval)
	}
}

// processesIn lists the processes whose netns link reads link.
func processesIn(link string) []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(filepath.Join("/proc", d.Name(), "ns", "net")); err == nil && l == link {
			pids = append(pids, pid)
		}
	}
	return pids
}

// describe names processes by pid and command line.
func describe(pids []int) string {
	var w []string
	for _, pid := range pids {
		if pid == os.Getpid() {
			// /proc/PID/ns/net is the main thread's.
			w = append(w, "this test process's main thread (a goroutine locked to it entered the netns and ended there: "+
				"the Go runtime parks the main thread instead of ending it)")
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		w = append(w, fmt.Sprintf("pid %d (%s)", pid, strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))))
	}
	return strings.Join(w, ", ")
}

// unmountAndRemove is `ip netns del`, retried: a removal refused with EBUSY
// (a mount on the file that is still going away) is tried again, after
// another unmount, until d has passed.
func unmountAndRemove(path string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		// EINVAL: not a mount point (any more).
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("unmounting %s: %w", path, err)
		}
		err := os.Remove(path)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pollInterval)
	}
}

// explainMounts describes the mounts still on path, for an EBUSY removal.
func explainMounts(path string) string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && fields[4] == path {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "\nstill mounted there, hidden under the " + runDir + " mount point (a bind made before " + runDir +
		" became a mount point: see addNetns):\n  " + strings.Join(lines, "\n  ")
}
