package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/netnstest"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// faultVictims are the host processes of a sandbox the suite kills.
var faultVictims = []string{"qemu", "virtiofsd", "sandbox"}

// faultPhases are the points of a container's life it kills them at.
var faultPhases = []string{"created", "running", "exec"}

// faultParallel bounds the suite's VMs booting at once: TCG on two cores.
const faultParallel = 3

// TestIntegrationOCIFaults is the fault-injection suite of the OCI CLI.
// Each host process of a sandbox (QEMU, virtiofsd, the per-sandbox
// process) is killed with SIGKILL at each point of a container's life
// (created, running, during an exec), with a pod netns carried by tcfilter
// or macvtap in turn. Then state must say stopped (no process of the VM
// outlives its owner or a failed share), an exec in flight must end, start
// and exec must be refused, delete and delete --force must succeed, and
// the host must hold nothing more than before: processes, mounts, files
// under the root, virtiofsd lock files, the pod netns' links, addresses,
// routes and qdiscs, and the test's own fds.
func TestIntegrationOCIFaults(t *testing.T) {
	var tried, clean atomic.Int32
	fdsBefore := openFds(t)
	sem := make(chan struct{}, faultParallel)
	t.Run("cases", func(t *testing.T) {
		i := 0
		for _, victim := range faultVictims {
			for _, phase := range faultPhases {
				model := []string{"tcfilter", "macvtap"}[i%2]
				i++
				t.Run(victim+"/"+phase+"/"+model, func(t *testing.T) {
					t.Parallel()
					sem <- struct{}{}
					defer func() { <-sem }()
					tried.Add(1)
					runFault(t, victim, phase, model)
					if !t.Failed() {
						clean.Add(1)
					}
				})
			}
		}
	})
	t.Logf("fault suite (CLI): %d tried, %d clean", tried.Load(), clean.Load())
	// Give the runtime a moment to close what the cases' goroutines held.
	deadline := time.Now().Add(5 * time.Second)
	for openFds(t) > fdsBefore && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if after := openFds(t); after > fdsBefore {
		t.Errorf("the test process holds %d fds after the suite, %d before", after, fdsBefore)
	}
}

func runFault(t *testing.T, victim, phase, model string) {
	e := newOCIEnv(t, "[shared_fs]\ndriver = \"virtio-fs\"\n[network]\nmodel = \""+model+"\"\n")
	e.parallel = true
	pod := netnstest.New(t)
	bundle := e.netBundle(pod.PodPath, []string{"sleep", "1000"}, nil)
	before, netBefore := e.snapshot(), pod.Snapshot()
	const id = "f1"
	e.mustKite("create", "--bundle", bundle, id)
	if phase != "created" {
		e.mustKite("start", id)
	}
	var execDone chan int
	if phase == "exec" {
		execDone = make(chan int, 1)
		go func() {
			code, _, _ := e.kite("exec", id, "--", "sleep", "1000")
			execDone <- code
		}()
		waitProcesses(t, e, id, 2)
	}
	rec := e.recorded(id)
	pid := map[string]int{"qemu": rec.QEMUPid, "sandbox": rec.Pid}[victim]
	if victim == "virtiofsd" {
		if len(rec.VirtiofsdPids) == 0 {
			t.Fatal("no virtiofsd recorded")
		}
		pid = rec.VirtiofsdPids[0]
	}
	if pid <= 0 {
		t.Fatalf("no %s pid recorded: %+v", victim, rec)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	e.waitStatus(id, specs.StateStopped)
	vmDir := filepath.Join(e.root, id, "vm")
	for len(processesNaming(vmDir)) > 0 {
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("the VM outlives the fault: %v", processesNaming(vmDir))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("stopped, with no VM process left, %v after the kill", time.Since(killed).Round(time.Millisecond))
	if execDone != nil {
		select {
		case code := <-execDone:
			if code == 0 {
				t.Error("the exec in flight exited 0 when its VM was killed")
			}
		case <-time.After(30 * time.Second):
			t.Error("the exec in flight did not end after its VM died")
		}
	}
	e.expectFail("exec after the fault", "is stopped, cannot exec", "exec", id, "--", "true")
	e.expectFail("start after the fault", "", "start", id)
	e.mustKite("delete", id)
	e.mustKite("delete", "--force", id)
	e.audit(before, victim+" killed "+phase)
	if after := pod.Snapshot(); after != netBefore {
		t.Errorf("the pod netns changed:\nbefore:\n%s\nafter:\n%s", netBefore, after)
	}
}

// waitProcesses waits until `kite ps` lists n processes in the container.
func waitProcesses(t *testing.T, e *ociEnv, id string, n int) {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var pids []int
		if code, out, _ := e.kite("ps", "--format", "json", id); code == 0 && json.Unmarshal([]byte(out), &pids) == nil && len(pids) >= n {
			return
		}
	}
	t.Fatalf("container %s never ran %d processes", id, n)
}

func openFds(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}
