package shim

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/pool"
)

// kiteCmd runs the kite built beside the shim with the harness's root and
// configuration.
func (h *containerdHarness) kiteCmd(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(shimBuild.dir, "kite"),
		append([]string{"--root", h.kiteRoot, "--config", h.kiteConfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kite %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (h *containerdHarness) poolSlots(t *testing.T) []pool.Status {
	t.Helper()
	var sts []pool.Status
	if err := json.Unmarshal([]byte(h.kiteCmd(t, "pool", "status", "--json")), &sts); err != nil {
		t.Fatal(err)
	}
	return sts
}

// TestIntegrationShimPool: with a pool, the shim's start hands the pod to
// a warm VM's process, which becomes the pod's shim daemon: the container
// runs in the VM booted ahead of time, a new warm VM is started in its
// place, and once the task is deleted the claimed process is gone; drain
// stops the rest.
func TestIntegrationShimPool(t *testing.T) {
	rels := requireReleases(t)
	h, err := startHarnessWith(rels[0], guestDirFor(t), nil, "[pool]\nsize = 1\n")
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	h.kiteCmd(t, "pool", "fill", "--wait")
	sts := h.poolSlots(t)
	if len(sts) != 1 || sts[0].State != pool.StateReady {
		t.Fatalf("pool after fill: %+v", sts)
	}
	warm := sts[0]
	start := time.Now()
	out := h.ctr(t, "run", "--rm", "--runtime", testRuntime, testImage, "pooled", "sh", "-c", "echo from the pool; cat /proc/cmdline")
	t.Logf("ctr run with a warm VM took %v (it booted in %v)", time.Since(start).Round(time.Millisecond), warm.Boot)
	if !strings.Contains(out, "from the pool") {
		t.Errorf("ctr run printed %q", out)
	}
	// The claimed warm process served the pod and went with it.
	for end := time.Now().Add(30 * time.Second); alive(warm.Pid); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the claimed warm process %d outlives its pod", warm.Pid)
		}
	}
	var refill []pool.Status
	for end := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		refill = h.poolSlots(t)
		if len(refill) == 1 && refill[0].Slot != warm.Slot {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the pool was not refilled: %+v", refill)
		}
	}
	h.kiteCmd(t, "pool", "drain")
	if sts := h.poolSlots(t); len(sts) != 0 {
		t.Errorf("pool after drain: %+v", sts)
	}
}
