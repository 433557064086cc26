package shim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/netnstest"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/shim/internal/cio"
)

// faultBudget bounds what a user waits for after a fault: an exec refused,
// a kill, a forced delete.
const faultBudget = 10 * time.Second

// TestIntegrationShimFaults is the shim's fault-injection suite: QEMU,
// virtiofsd and the shim daemon each killed with SIGKILL while a task runs
// and during an exec, with the pod's netns carried by macvtap (the model
// that takes the pod interface's addresses). The task must exit with an
// event, an exec after it must fail at once, kill and a forced delete must
// work within seconds, and nothing may be left: processes, mounts, the
// shim's files, bundles, and the pod netns as it was.
func TestIntegrationShimFaults(t *testing.T) {
	rels := requireReleases(t)
	h, err := startHarnessWith(rels[0], guestDirFor(t), nil, "[network]\nmodel = \"macvtap\"\n")
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	tried, clean := 0, 0
	for _, victim := range []string{"qemu", "virtiofsd", "shim"} {
		for _, phase := range []string{"running", "exec"} {
			t.Run(victim+"/"+phase, func(t *testing.T) {
				tried++
				shimFault(t, h, victim, phase)
				if !t.Failed() {
					clean++
				}
			})
		}
	}
	t.Logf("fault suite (shim): %d tried, %d clean", tried, clean)
}

func shimFault(t *testing.T, h *containerdHarness, victim, phase string) {
	pod := netnstest.New(t)
	netBefore := pod.Snapshot()
	before := h.snapshot(t)
	events := h.watchEvents(t)
	id := "fault-" + victim + "-" + phase
	h.ctr(t, "run", "-d", "--runtime", testRuntime, "--with-ns", "network:"+pod.PodPath, testImage, id, "sleep", "1000")
	h.removeOnCleanup(t, id)
	events.waitFor(t, cio.TopicStart, id)
	var execDone chan int
	if phase == "exec" {
		execDone = make(chan int, 1)
		go func() {
			_, code := h.exitCode(t, "task", "exec", "--exec-id", "long", id, "sleep", "1000")
			execDone <- code
		}()
		events.waitFor(t, cio.TopicExecStarted, id, "long")
	}
	pids := podPids(t, h, id)
	pid := pids.qemu
	switch victim {
	case "virtiofsd":
		if len(pids.virtiofsd) == 0 {
			t.Fatal("no virtiofsd recorded")
		}
		pid = pids.virtiofsd[0]
	case "shim":
		pid = pids.daemon
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	exit := events.waitFor(t, cio.TopicExit, id, `"id":"`+id+`"`)
	t.Logf("task exit event %v after the kill: %s", time.Since(killed).Round(time.Millisecond), exit)
	if execDone != nil {
		select {
		case code := <-execDone:
			if code == 0 {
				t.Error("the exec in flight exited 0 when its VM went")
			}
		case <-time.After(30 * time.Second):
			t.Error("the exec in flight did not end after the fault")
		}
	}
	start := time.Now()
	if out, code := h.exitCode(t, "task", "exec", "--exec-id", "after", id, "true"); code == 0 {
		t.Errorf("exec after the fault succeeded: %s", out)
	}
	if d := time.Since(start); d > faultBudget {
		t.Errorf("the refused exec took %v", d)
	}
	start = time.Now()
	h.exitCode(t, "task", "kill", "-s", "SIGKILL", id) // a task already gone is an error, not a hang
	if out, code := h.exitCode(t, "task", "delete", "-f", id); code != 0 && !strings.Contains(out, "not found") {
		t.Errorf("task delete -f after the fault: %d %s", code, out)
	}
	h.ctr(t, "container", "delete", id)
	if d := time.Since(start); d > faultBudget {
		t.Errorf("kill and delete -f took %v", d)
	}
	h.checkClean(t, before)
	if after := pod.Snapshot(); after != netBefore {
		t.Errorf("the pod netns changed:\nbefore:\n%s\nafter:\n%s", netBefore, after)
	}
}

// pids are a pod's host processes, from its crash record.
type pids struct {
	daemon, qemu int
	virtiofsd    []int
}

func podPids(t *testing.T, h *containerdHarness, id string) pids {
	t.Helper()
	lay := newLayout(h.kiteRoot, h.socket, h.namespace, id)
	data, err := os.ReadFile(filepath.Join(lay.dir(), sandbox.RecordName))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Owner struct {
			PID int `json:"pid"`
		} `json:"owner"`
		Pids []int `json:"pids"`
	}
	if err := json.Unmarshal(data, &rec); err != nil || len(rec.Pids) == 0 {
		t.Fatalf("pod record of %s: %s, %v", id, data, err)
	}
	return pids{daemon: rec.Owner.PID, qemu: rec.Pids[0], virtiofsd: rec.Pids[1:]}
}
