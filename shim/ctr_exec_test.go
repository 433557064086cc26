package shim

import (
	"context"
	"errors"
	"github.com/kite-vm/kite/shim/internal/cio"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// runDetached starts a long-running task and registers its removal.
func (h *containerdHarness) runDetached(t *testing.T, id string, args ...string) {
	t.Helper()
	h.ctr(t, append([]string{"run", "-d", "--runtime", testRuntime, testImage, id}, args...)...)
	h.removeOnCleanup(t, id)
}

// removeOnCleanup kills and removes the task and container when the test
// ends, however it ends (not with t.Context: it is over by then).
func (h *containerdHarness) removeOnCleanup(t *testing.T, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		h.ctrOutput(ctx, "task", "kill", "-s", "SIGKILL", id)
		h.ctrOutput(ctx, "task", "delete", "-f", id)
		h.ctrOutput(ctx, "container", "delete", id)
	})
}

// exitCode runs ctr and returns its output and exit status. The output is
// stdout alone when ctr succeeds (ctr 2.x warns on stderr, e.g. about
// cgroup v1), stdout and stderr when it fails, so that the error shows.
func (h *containerdHarness) exitCode(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	cmd := h.ctrCmd(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), 0
	case errors.As(err, &ee):
		return stdout.String() + stderr.String(), ee.ExitCode()
	}
	t.Fatalf("ctr %s: %v", strings.Join(args, " "), err)
	return "", -1
}

// TestIntegrationCtrExecKillDelete: exec in a running task returns its
// output and status, ps lists the processes, pause and resume work, kill
// ends the task, and each step publishes its event.
func TestIntegrationCtrExecKillDelete(t *testing.T) {
	ctrLifecycle(t, requireContainerd(t))
}

// ctrLifecycle is TestIntegrationCtrExecKillDelete's task, on h.
func ctrLifecycle(t *testing.T, h *containerdHarness) {
	before := h.snapshot(t)
	events := h.watchEvents(t)
	const id = "execkill"
	h.runDetached(t, id, "sleep", "1000")
	events.waitFor(t, cio.TopicCreate, id)
	events.waitFor(t, cio.TopicStart, id)

	out, code := h.exitCode(t, "task", "exec", "--exec-id", "e1", id, "sh", "-c", "echo from-exec; cat /proc/1/cmdline; exit 5")
	if code != 5 || !strings.Contains(out, "from-exec") || !strings.Contains(out, "sleep") {
		t.Errorf("exec: status %d, output %q; want 5 and from-exec, sleep", code, out)
	}
	events.waitFor(t, cio.TopicExecAdded, id, "e1")
	events.waitFor(t, cio.TopicExecStarted, id, "e1")
	events.waitFor(t, cio.TopicExit, "e1", `"exit_status":5`)

	// stdin reaches an exec and its end closes the exec's input.
	cmd := h.ctrCmd(context.Background(), "task", "exec", "--exec-id", "e2", id, "wc", "-c")
	cmd.Stdin = strings.NewReader("twelve bytes")
	if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "12" {
		t.Errorf("exec with stdin: %v, %q; want 12", err, out)
	}

	if ps := h.ctr(t, "task", "ps", id); !strings.Contains(ps, "PID") {
		t.Errorf("task ps: %q", ps)
	}
	h.ctr(t, "task", "pause", id)
	if ls := h.ctr(t, "task", "ls"); !strings.Contains(ls, "PAUSED") {
		t.Errorf("after pause, task ls: %q", ls)
	}
	h.ctr(t, "task", "resume", id)
	if ls := h.ctr(t, "task", "ls"); !strings.Contains(ls, "RUNNING") {
		t.Errorf("after resume, task ls: %q", ls)
	}
	h.ctr(t, "task", "kill", "-s", "SIGKILL", id) // pid 1 ignores an unhandled SIGTERM
	events.waitFor(t, cio.TopicExit, id, `"exit_status":137`)
	h.ctr(t, "task", "delete", id)
	events.waitFor(t, cio.TopicDelete, id)
	h.ctr(t, "container", "delete", id)
	h.checkClean(t, before)
}

// waitStopped waits until `ctr task ls` shows the task STOPPED (ctr 1.6
// has no `task wait`).
func (h *containerdHarness) waitStopped(t *testing.T, id string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for _, line := range strings.Split(h.ctr(t, "task", "ls"), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == id && f[2] == "STOPPED" {
				return
			}
		}
	}
	t.Fatalf("task %s did not stop: %s", id, h.ctr(t, "task", "ls"))
}
