package devicemgr

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func poolClaim(sandbox string, count int, fns []Function) Claim {
	return Claim{
		Owner:     Owner{Sandbox: sandbox},
		Functions: fns,
		Pools:     testPools,
		Requests:  Requests{Pools: []PoolRequest{{Source: "annotation", Pool: "intel.com/sriov", Count: count}}},
	}
}

func bdfsOf(as []Assignment) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.BDF)
	}
	return out
}

// TestAllocatorExclusiveAndPersistent: two sandboxes never share a function,
// a new Allocator on the same directory (a restarted Kite) sees the records,
// and Release frees exactly the sandbox's functions.
func TestAllocatorExclusiveAndPersistent(t *testing.T) {
	ctx := context.Background()
	fns := allocTree(t)
	dir := t.TempDir()
	a1, err := NewAllocator(dir).Allocate(ctx, poolClaim("sb1", 3, fns))
	if err != nil {
		t.Fatal(err)
	}
	restarted := NewAllocator(dir)
	a2, err := restarted.Allocate(ctx, poolClaim("sb2", 3, fns))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"0000:3b:02.0", "0000:3b:02.1", "0000:3b:02.2"}, bdfsOf(a1)); diff != "" {
		t.Errorf("sb1 got (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"0000:3b:02.3", "0000:af:02.0", "0000:af:02.1"}, bdfsOf(a2)); diff != "" {
		t.Errorf("sb2 got (-want +got):\n%s", diff)
	}
	_, err = restarted.Allocate(ctx, Claim{Owner: Owner{Sandbox: "sb3"}, Functions: fns,
		Requests: Requests{Exact: []ExactRequest{{Source: "PCIDEVICE_X", BDFs: []string{"0000:3b:02.1"}}}}})
	if !errors.Is(err, ErrAllocated) {
		t.Fatalf("sb3 taking sb1's VF: error = %v, want ErrAllocated", err)
	}
	released, err := restarted.Release(ctx, "sb1")
	if err != nil {
		t.Fatal(err)
	}
	if len(released) != 3 || released[0].Sandbox != "sb1" {
		t.Errorf("Release(sb1) = %+v, want sb1's 3 records", released)
	}
	recs, err := NewAllocator(dir).Records(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, r := range recs {
		left = append(left, r.Sandbox+" "+r.BDF)
	}
	if diff := cmp.Diff([]string{"sb2 0000:3b:02.3", "sb2 0000:af:02.0", "sb2 0000:af:02.1"}, left); diff != "" {
		t.Errorf("records after Release (-want +got):\n%s", diff)
	}
	var onDisk allocState
	b, err := os.ReadFile(filepath.Join(dir, AllocFile))
	if err != nil || json.Unmarshal(b, &onDisk) != nil || len(onDisk.Records) != 3 {
		t.Errorf("%s: %v, %d records: %s", AllocFile, err, len(onDisk.Records), b)
	}
}

// TestAllocatorConcurrent: sandboxes allocating at once from one pool (as
// parallel pod starts do, each its own process in production) end with
// disjoint sets and the pool exhausted exactly.
func TestAllocatorConcurrent(t *testing.T) {
	fns := allocTree(t)
	dir := t.TempDir()
	var wg sync.WaitGroup
	results := make([][]Assignment, 8)
	errs := make([]error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = NewAllocator(dir).Allocate(context.Background(), poolClaim(string(rune('a'+i)), 1, fns))
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, as := range results {
		if errs[i] != nil {
			t.Fatalf("sandbox %d: %v", i, errs[i])
		}
		for _, a := range as {
			if seen[a.BDF] {
				t.Errorf("%s given twice", a.BDF)
			}
			seen[a.BDF] = true
		}
	}
	if len(seen) != 8 {
		t.Errorf("%d distinct VFs allocated, want 8", len(seen))
	}
	if _, err := NewAllocator(dir).Allocate(context.Background(), poolClaim("late", 1, fns)); !errors.Is(err, ErrNoCandidate) {
		t.Errorf("ninth allocation: error = %v, want ErrNoCandidate", err)
	}
}

// TestAllocatorStale: a record whose process has exited is stale, one whose
// process runs is not, and one whose PID now names a process started later
// (PID reuse) is stale too.
func TestAllocatorStale(t *testing.T) {
	ctx := context.Background()
	fns := allocTree(t)
	self, err := ProcessOf(DefaultProcRoot, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	gone, err := ProcessOf(DefaultProcRoot, cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	reused := Process{PID: self.PID, StartTime: self.StartTime + 1}
	a := NewAllocator(t.TempDir())
	for _, c := range []struct {
		sandbox string
		proc    Process
		bdf     string
	}{{"alive", self, "0000:3b:02.0"}, {"crashed", gone, "0000:3b:02.1"}, {"reused", reused, "0000:3b:02.2"}} {
		_, err := a.Allocate(ctx, Claim{Owner: Owner{Sandbox: c.sandbox, Process: c.proc}, Functions: fns,
			Requests: Requests{Exact: []ExactRequest{{Source: "test", BDFs: []string{c.bdf}}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	stale, err := a.Stale(ctx, DefaultProcRoot)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range stale {
		got = append(got, r.Sandbox)
	}
	if diff := cmp.Diff([]string{"crashed", "reused"}, got); diff != "" {
		t.Errorf("Stale() sandboxes (-want +got):\n%s", diff)
	}
}

func TestAllocatorRefusesBadState(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, AllocFile), []byte(`{"format": 9}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewAllocator(dir).Records(context.Background())
	if err == nil || !strings.Contains(err.Error(), AllocFile) || !strings.Contains(err.Error(), "format 9") {
		t.Errorf("Records() on a format-9 file: error = %v, want one naming %s", err, AllocFile)
	}
	if _, err := NewAllocator(dir).Allocate(context.Background(), Claim{}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("Allocate() without a sandbox id: error = %v, want ErrBadRequest", err)
	}
}
