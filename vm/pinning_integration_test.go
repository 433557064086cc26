package vm_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/vm"
	"golang.org/x/sys/unix"
)

// TestIntegrationPinVCPUs boots 2-vCPU guests with vcpu_pinning and reads
// each QEMU thread's affinity back from /proc: vCPU threads on their one CPU,
// every other thread on the whole cpuset. The machine has 2 CPUs: [1 0]
// shows the map follows the cpuset's order (vCPU 0 on CPU 1), [1] the
// round-robin and the other threads kept off CPU 0.
func TestIntegrationPinVCPUs(t *testing.T) {
	cfg, host := integrationConfig(t)
	if n := len(allowedCPUs(t, os.Getpid())); n < 2 {
		testutil.Skip(t, "the test needs 2 CPUs in its affinity, has "+strconv.Itoa(n), "run it on a machine with 2 or more CPUs")
	}
	cfg.Hypervisor.VCPUs, cfg.Hypervisor.VCPUPinning = 2, true
	for _, tc := range []struct {
		name     string
		cpuset   []int
		vcpu     []string // Cpus_allowed_list of vCPU 0, 1
		others   string
		wantNote bool
	}{
		{"one to one", []int{1, 0}, []string{"1", "0"}, "0-1", false},
		{"round robin", []int{1}, []string{"1", "1"}, "1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := shortTempDir(t)
			m := bootT(t, cfg, vm.Input{ID: "pin", Dir: filepath.Join(root, "sb"), Host: host, CPUSet: tc.cpuset})
			if got := m.Plan().Pinning.Note != ""; got != tc.wantNote {
				t.Errorf("plan note %q, want one: %t", m.Plan().Pinning.Note, tc.wantNote)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			vcpus, err := m.QMP().QueryCPUs(ctx)
			if err != nil || len(vcpus) != 2 {
				t.Fatalf("QueryCPUs = %+v, %v; want 2 vCPUs", vcpus, err)
			}
			isVCPU := map[int]bool{}
			for _, v := range vcpus {
				isVCPU[v.ThreadID] = true
				if got := allowedCPUs(t, v.ThreadID); got != tc.vcpu[v.Index] {
					t.Errorf("vCPU %d (thread %d) Cpus_allowed_list = %q, want %q", v.Index, v.ThreadID, got, tc.vcpu[v.Index])
				}
			}
			tids, err := vm.QEMUThreads(m.Process().Pid())
			if err != nil {
				t.Fatal(err)
			}
			if len(tids) <= len(isVCPU) {
				t.Fatalf("qemu threads %v: want more than the vCPU threads", tids)
			}
			for _, tid := range tids {
				if got := allowedCPUs(t, tid); !isVCPU[tid] && got != tc.others {
					t.Errorf("qemu thread %d Cpus_allowed_list = %q, want %q", tid, got, tc.others)
				}
			}
			checkAgent(t, m) // the pinned guest still runs
			stopAndCheck(t, m)
		})
	}
}

// TestIntegrationPinOfflineCPU: a cpuset naming a CPU the host lacks fails
// the boot at the pinning step, naming the vCPU, its thread and the CPU, and
// leaves no QEMU behind.
func TestIntegrationPinOfflineCPU(t *testing.T) {
	cfg, host := integrationConfig(t)
	cfg.Hypervisor.VCPUPinning = true
	root := shortTempDir(t)
	p := planT(t, cfg, vm.Input{ID: "pinbad", Dir: filepath.Join(root, "sb"), Host: host, CPUSet: []int{vm.MaxCPU}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := vm.Boot(ctx, p)
	if err == nil {
		m.Stop(ctx)
		t.Fatal("Boot pinned a vCPU to CPU 1023")
	}
	var be *vm.BootError
	if !errors.As(err, &be) || be.Step != vm.StepPinning || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Boot = %v, want a BootError at %q wrapping EINVAL", err, vm.StepPinning)
	}
	if !regexp.MustCompile(`pinning vCPU 0 \(thread [0-9]+\) to CPU 1023: invalid argument \(are the CPUs online`).MatchString(err.Error()) {
		t.Errorf("error %q does not name the vCPU, its thread and the CPU", err)
	}
	wantNoProcess(t, p.Dir)
	wantNothingLeft(t, p)
}

// allowedCPUs reads Cpus_allowed_list of a thread of any process.
func allowedCPUs(t *testing.T, tid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		t.Fatalf("reading thread %d status: %v", tid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("thread %d status has no Cpus_allowed_list", tid)
	return ""
}
