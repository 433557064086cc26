package reaper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/sys/unix"
)

// runReaper runs r until the test ends.
func runReaper(t *testing.T, r *Reaper) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run() = %v, want context.Canceled", err)
		}
	})
}

// receive waits for one exit on ch.
func receive(t *testing.T, ch <-chan Exit) Exit {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("exit channel closed without an exit")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10s")
	}
	return Exit{}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var ignoreAt = cmpopts.IgnoreFields(Exit{}, "At")

func TestStartDeliversExit(t *testing.T) {
	r := New(Options{})
	runReaper(t, r)
	tests := []struct {
		script string
		want   Exit
	}{
		{"true", Exit{Status: 0}},
		{"exit 3", Exit{Status: 3}},
		{"kill -TERM $$", Exit{Status: 143, Signaled: true, Signal: syscall.SIGTERM}},
		{"kill -KILL $$", Exit{Status: 137, Signaled: true, Signal: syscall.SIGKILL}},
	}
	for _, tt := range tests {
		t.Run(tt.script, func(t *testing.T) {
			before := time.Now()
			cmd := exec.Command("/bin/sh", "-c", tt.script)
			ch, err := r.Start(cmd)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			got := receive(t, ch)
			tt.want.Pid = cmd.Process.Pid
			if diff := cmp.Diff(tt.want, got, ignoreAt); diff != "" {
				t.Errorf("exit (-want +got):\n%s", diff)
			}
			if got.At.Before(before) || got.At.After(time.Now()) {
				t.Errorf("At = %v, not within the test", got.At)
			}
			if _, ok := <-ch; ok {
				t.Error("channel delivered a second value")
			}
		})
	}
}

func TestRegisterAfterExitGetsKeptStatus(t *testing.T) {
	r := New(Options{})
	runReaper(t, r)
	cmd := exec.Command("/bin/sh", "-c", "exit 7")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the unregistered exit to be collected", func() bool { return r.Unclaimed() == 1 })
	got := receive(t, r.Register(cmd.Process.Pid))
	if diff := cmp.Diff(Exit{Pid: cmd.Process.Pid, Status: 7}, got, ignoreAt); diff != "" {
		t.Errorf("exit (-want +got):\n%s", diff)
	}
	if n := r.Unclaimed(); n != 0 {
		t.Errorf("Unclaimed() = %d after Register, want 0", n)
	}
}

func TestStartDropsStaleExitOfSamePid(t *testing.T) {
	// Simulate pid reuse: before the reaper runs, plant stale exits for
	// the next pids the kernel will hand out. The child started next gets
	// one of them, and must still receive its own exit, not the stale one.
	b, err := os.ReadFile("/proc/sys/kernel/ns_last_pid")
	if err != nil {
		t.Fatal(err)
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	const window = 500
	r := New(Options{MaxUnclaimed: 2 * window})
	for pid := last + 1; pid <= last+window; pid++ {
		r.unclaimed[pid] = Exit{Pid: pid, Status: 99, At: time.Now()}
	}
	cmd := exec.Command("/bin/sh", "-c", "exit 4")
	ch, err := r.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if pid := cmd.Process.Pid; pid <= last || pid > last+window {
		t.Fatalf("child pid %d outside the planted window (%d, %d]: the machine forked too much meanwhile", pid, last, last+window)
	}
	runReaper(t, r)
	if got := receive(t, ch); got.Status != 4 {
		t.Errorf("exit = %+v, want the child's own status 4", got)
	}
}

func TestOrphanExitsArePrunedAfterTTL(t *testing.T) {
	if err := SetSubreaper(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) })
	r := New(Options{UnclaimedTTL: 300 * time.Millisecond})
	runReaper(t, r)
	// The subshell outlives its parent, is re-parented to this process
	// (the subreaper) and exits with nobody registered for it.
	cmd := exec.Command("/bin/sh", "-c", "(sleep 0.1; exit 5) & exit 0")
	ch, err := r.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	if e := receive(t, ch); e.Status != 0 {
		t.Fatalf("parent exit = %+v, want status 0", e)
	}
	eventually(t, "the orphan's exit to be collected", func() bool { return r.Unclaimed() == 1 })
	eventually(t, "the orphan's exit to be pruned", func() bool { return r.Unclaimed() == 0 })
}

func TestUnclaimedExitsAreBoundedByCount(t *testing.T) {
	r := New(Options{MaxUnclaimed: 3})
	runReaper(t, r)
	var pids []int
	for range 6 {
		cmd := exec.Command("/bin/true")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, cmd.Process.Pid)
	}
	eventually(t, "all children to be reaped", func() bool {
		for _, pid := range pids {
			if unix.Kill(pid, 0) == nil {
				return false
			}
		}
		return true
	})
	r.reapAll() // settle: the last SIGCHLD may still be in flight
	if n := r.Unclaimed(); n != 3 {
		t.Errorf("Unclaimed() = %d, want the bound 3", n)
	}
}

func TestManyConcurrentChildren(t *testing.T) {
	r := New(Options{})
	runReaper(t, r)
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			cmd := exec.Command("/bin/sh", "-c", fmt.Sprintf("exit %d", i))
			ch, err := r.Start(cmd)
			if err != nil {
				errs <- err
				return
			}
			select {
			case e := <-ch:
				if e.Status != i || e.Pid != cmd.Process.Pid {
					errs <- fmt.Errorf("child %d: got %+v", i, e)
				}
			case <-time.After(20 * time.Second):
				errs <- fmt.Errorf("child %d: no exit", i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if u := r.Unclaimed(); u != 0 {
		t.Errorf("Unclaimed() = %d, want 0", u)
	}
}

func TestStopClosesRegistrations(t *testing.T) {
	r := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	ch := r.Register(999999)
	cancel()
	<-done
	select {
	case e, ok := <-ch:
		if ok {
			t.Errorf("got exit %+v, want a closed channel", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed after stop")
	}
	if _, err := r.Start(exec.Command("/bin/true")); !errors.Is(err, ErrStopped) {
		t.Errorf("Start after stop = %v, want ErrStopped", err)
	}
	if err := r.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
}

func TestExitFromStatus(t *testing.T) {
	at := time.Unix(100, 0)
	tests := []struct {
		name string
		ws   syscall.WaitStatus
		want Exit
	}{
		{"exit 0", 0, Exit{Pid: 9, At: at}},
		{"exit 42", 42 << 8, Exit{Pid: 9, Status: 42, At: at}},
		{"SIGKILL", 9, Exit{Pid: 9, Status: 137, Signaled: true, Signal: syscall.SIGKILL, At: at}},
		{"SIGSEGV with core", 11 | 0x80, Exit{Pid: 9, Status: 139, Signaled: true, Signal: syscall.SIGSEGV, At: at}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, exitFromStatus(9, tt.ws, at)); diff != "" {
				t.Errorf("exitFromStatus (-want +got):\n%s", diff)
			}
		})
	}
}
