package shim

import (
	"context"
	"encoding/json"
	"github.com/kite-vm/kite/shim/internal/cio"
	"strings"
	"syscall"
	"testing"
	"time"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/types/known/anypb"
)

// TestIntegrationContainerdRestart: containerd dies and comes back; the
// shim keeps the pod, containerd reconnects through the address file, and
// the task still execs, dies and deletes cleanly.
func TestIntegrationContainerdRestart(t *testing.T) {
	h := requireContainerd(t)
	before := h.snapshot(t)
	const id = "restart"
	h.runDetached(t, id, "sleep", "1000")
	qemu := h.record(t, id).QEMUPid
	h.Kill()
	if err := h.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ls := h.ctr(t, "task", "ls"); !strings.Contains(ls, id) || !strings.Contains(ls, "RUNNING") {
		t.Fatalf("after the restart, task ls: %q", ls)
	}
	if got := h.record(t, id).QEMUPid; got != qemu {
		t.Errorf("QEMU pid %d after the restart, was %d: the VM was replaced", got, qemu)
	}
	if out, code := h.exitCode(t, "task", "exec", "--exec-id", "after", id, "echo", "still-here"); code != 0 || !strings.Contains(out, "still-here") {
		t.Errorf("exec after the restart: %d, %q", code, out)
	}
	events := h.watchEvents(t)
	h.ctr(t, "task", "kill", "-s", "SIGKILL", id)
	events.waitFor(t, cio.TopicExit, id, `"exit_status":137`)
	h.ctr(t, "task", "delete", id)
	h.ctr(t, "container", "delete", id)
	h.checkClean(t, before)
}

// TestIntegrationVMDies: QEMU killed under a running task makes the task
// exit with a non-zero status containerd sees (event and state), and
// delete then removes everything.
func TestIntegrationVMDies(t *testing.T) {
	h := requireContainerd(t)
	before := h.snapshot(t)
	events := h.watchEvents(t)
	const id = "vmdies"
	h.runDetached(t, id, "sleep", "1000")
	events.waitFor(t, cio.TopicStart, id)
	if err := syscall.Kill(h.record(t, id).QEMUPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	events.waitFor(t, cio.TopicExit, id, `"exit_status":255`)
	h.waitStopped(t, id)
	h.ctr(t, "task", "delete", id)
	events.waitFor(t, cio.TopicDelete, id, `"exit_status":255`)
	h.ctr(t, "container", "delete", id)
	h.checkClean(t, before)
}

// TestIntegrationStatsUpdate: metrics come from the guest's cgroup, and an
// update changes the container's memory limit in the guest.
func TestIntegrationStatsUpdate(t *testing.T) {
	h := requireContainerd(t)
	const id = "stats"
	h.runDetached(t, id, "sleep", "1000")
	m := h.ctr(t, "task", "metrics", id)
	if !strings.Contains(m, "pids.current          1") || !strings.Contains(m, "memory.usage_limit    18446744073709551615") {
		t.Errorf("task metrics: %q", m)
	}
	// ctr 1.6 has no `task update`: send what containerd sends, linux
	// resources as JSON under containerd's type URL.
	limit := int64(64 << 20)
	res, err := json.Marshal(specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := h.shimClient(t, id).Update(ctx, &taskAPI.UpdateTaskRequest{ID: id, Resources: &anypb.Any{
		TypeUrl: "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources", Value: res}}); err != nil {
		t.Fatalf("update: %v", err)
	}
	// The guest's cgroup says so, through the metrics.
	m = h.ctr(t, "task", "metrics", id)
	if !strings.Contains(m, "memory.usage_limit    67108864") {
		t.Errorf("metrics after the update: %q, want memory.usage_limit 67108864", m)
	}
}

// TestIntegrationShimDies: the shim daemon killed under a running task;
// containerd runs the delete action, which kills the orphaned VM and
// unmounts the rootfs, and the task reads as exited with 137 (SIGKILL).
func TestIntegrationShimDies(t *testing.T) {
	h := requireContainerd(t)
	before := h.snapshot(t)
	events := h.watchEvents(t)
	const id = "shimdies"
	h.runDetached(t, id, "sleep", "1000")
	events.waitFor(t, cio.TopicStart, id)
	rec := h.record(t, id)
	if err := syscall.Kill(rec.DaemonPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	events.waitFor(t, cio.TopicExit, id, `"exit_status":137`)
	for deadline := time.Now().Add(30 * time.Second); alive(rec.QEMUPid); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("QEMU (pid %d) outlived its dead shim's cleanup", rec.QEMUPid)
		}
	}
	h.ctrOutput(context.Background(), "task", "delete", id) // containerd may have deleted it already
	h.ctr(t, "container", "delete", id)
	h.checkClean(t, before)
}
