package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/sandbox"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// poolStatus is `kite pool status --json`.
func (e *ociEnv) poolStatus() []poolEntry {
	e.t.Helper()
	var out []poolEntry
	if err := json.Unmarshal([]byte(e.mustKite("pool", "status", "--json")), &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// waitPool polls the pool until ok says it is as wanted.
func (e *ociEnv) waitPool(what string, ok func([]poolEntry) bool) []poolEntry {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st := e.poolStatus()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("pool never %s: %+v", what, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func readyOnes(st []poolEntry) []poolEntry {
	var out []poolEntry
	for _, s := range st {
		if s.State == "ready" && !s.Stale {
			out = append(out, s)
		}
	}
	return out
}

// TestIntegrationPool runs the pool as its users would: fill waits for a
// ready warm VM; a create claims it (its sandbox process is the warm
// process) and the pool refills; a container asking for more memory than
// the warm VMs have boots its own and leaves the pool alone; a warm VM
// whose QEMU dies while idle is never handed out and fill replaces it; a
// changed configuration makes the pool stale and fill replaces it; a pool
// larger than memory is refused with the arithmetic; drain stops what is
// left, and nothing stays behind.
func TestIntegrationPool(t *testing.T) {
	e := newOCIEnv(t, "[pool]\nsize = 1\n")
	before := e.snapshot()
	out := e.mustKite("pool", "fill", "--wait")
	if !strings.Contains(out, "1/1 warm VMs ready") {
		t.Errorf("fill --wait said %q", out)
	}
	warm := readyOnes(e.poolStatus())
	if len(warm) != 1 {
		t.Fatalf("ready warm VMs after fill: %+v", e.poolStatus())
	}

	bundle := e.bundle([]string{"sleep", "1000"}, nil)
	start := time.Now()
	e.mustKite("create", "--bundle", bundle, "p1")
	t.Logf("create from the pool took %v (warm VM booted in %v)", time.Since(start).Round(time.Millisecond), warm[0].Boot)
	if rec := e.recorded("p1"); rec.Pid != warm[0].Pid {
		t.Errorf("the sandbox process is %d, want the warm process %d", rec.Pid, warm[0].Pid)
	}
	e.mustKite("start", "p1")
	if code, out, errOut := e.kite("exec", "p1", "--", "echo", "from the pool"); code != 0 || out != "from the pool\n" {
		t.Errorf("exec in the claimed VM: %d %q %q", code, out, errOut)
	}
	refilled := e.waitPool("refilled", func(st []poolEntry) bool { return len(readyOnes(st)) == 1 })
	if refilled[0].Slot == warm[0].Slot {
		t.Error("the claimed warm VM is still listed")
	}

	// More memory than a warm VM has: a VM of its own, the pool untouched.
	big := e.bundle([]string{"true"}, func(s *specs.Spec) {
		s.Annotations = map[string]string{"io.kite.hypervisor.memory_mib": "320"}
	})
	e.mustKite("create", "--bundle", big, "p2")
	if rec := e.recorded("p2"); rec.Pid == refilled[0].Pid {
		t.Error("a pod needing more memory got the warm VM")
	}
	if st := readyOnes(e.poolStatus()); len(st) != 1 || st[0].Slot != refilled[0].Slot {
		t.Errorf("the pool after a cold boot: %+v, want %s still ready", st, refilled[0].Slot)
	}
	e.mustKite("delete", "--force", "p2")
	e.mustKite("delete", "--force", "p1")

	// A warm VM that dies idle is never handed out; fill replaces it.
	qemuPid := slotQEMU(t, refilled[0].Dir)
	if err := syscall.Kill(qemuPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitPool("rid of the dead VM", func(st []poolEntry) bool { return len(readyOnes(st)) == 0 })
	e.mustKite("create", "--bundle", bundle, "p3")
	if rec := e.recorded("p3"); rec.Pid == refilled[0].Pid {
		t.Error("a dead warm VM was handed out")
	}
	e.mustKite("delete", "--force", "p3")
	e.mustKite("pool", "fill", "--wait")

	// Another configuration: the pool is stale; fill replaces it.
	setConfig(t, e.config, "memory_mib = 256", "memory_mib = 288")
	if st := e.poolStatus(); len(st) != 1 || !st[0].Stale {
		t.Errorf("pool after a configuration change: %+v, want one stale", st)
	}
	e.mustKite("pool", "fill", "--wait")
	if st := e.poolStatus(); len(st) != 1 || st[0].Stale || st[0].MemoryMiB != 288 {
		t.Errorf("pool after fill: %+v, want one current of 288 MiB", st)
	}

	// More than memory allows: refused before anything changes.
	huge := e.config + ".huge"
	data, _ := os.ReadFile(e.config)
	os.WriteFile(huge, []byte(strings.Replace(string(data), "memory_mib = 288", "memory_mib = 8192", 1)), 0o644)
	code, _, errOut := e.kite("--config", huge, "pool", "fill", "--size", "64")
	if code == 0 || !strings.Contains(errOut, "64 × (8192 MiB guest") || !strings.Contains(errOut, "MiB available") {
		t.Errorf("a pool larger than memory: exit %d, %q; want the arithmetic", code, errOut)
	}
	if st := e.poolStatus(); len(readyOnes(st)) != 1 {
		t.Errorf("the refused fill changed the pool: %+v", st)
	}

	out = e.mustKite("pool", "drain")
	if !strings.Contains(out, "stopped") {
		t.Errorf("drain said %q", out)
	}
	if st := e.poolStatus(); len(st) != 0 {
		t.Errorf("pool after drain: %+v", st)
	}
	os.Remove(e.root + "/pool")
	e.audit(before, "the pool's life")
}

// slotQEMU is the pid of the warm VM's QEMU in a slot, from the engine's
// crash record there.
func slotQEMU(t *testing.T, slot string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(slot, sandbox.RecordName))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Pids []int }
	if err := json.Unmarshal(data, &rec); err != nil || len(rec.Pids) == 0 {
		t.Fatalf("record of %s: %s, %v", slot, data, err)
	}
	return rec.Pids[0]
}

func setConfig(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s lacks %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
