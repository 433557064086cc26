package benchmarks

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
)

// guestDirEnv names the guest build the tests use (as internal/testing/vmtest).
const guestDirEnv = "KITE_TEST_GUEST_DIR"

// integrationEnv gates on root, QEMU, virtiofsd and the guest image, and
// returns an Env with a short work directory.
func integrationEnv(t *testing.T) Env {
	t.Helper()
	testutil.RequireRoot(t)
	qemuPath := testutil.RequireQEMU(t)
	testutil.RequireVirtiofsd(t)
	testutil.RequireBinary(t, "/bin/busybox", "busybox-static")
	testutil.RequireBinary(t, "mkfs.ext4", "e2fsprogs")
	cfg := configs.Default()
	if dir := os.Getenv(guestDirEnv); dir != "" {
		cfg.Guest.Dir = dir
	}
	for _, p := range []string{cfg.Guest.KernelPath(), cfg.Guest.InitrdPath()} {
		if _, err := os.Stat(p); err != nil {
			testutil.Skip(t, "guest image missing: "+p, "make guest (or kite guest build --out "+cfg.Guest.Dir+")")
		}
	}
	cfg.Hypervisor.Path = qemuPath
	cfg.Hypervisor.Accel = configs.Accel(testutil.Accel())
	work, err := os.MkdirTemp("", "kbt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	host := vm.DetectHost("")
	host.Accel = qemu.AccelType(testutil.Accel())
	return Env{Config: cfg, Host: &host, WorkDir: work, Quick: true}
}

// TestIntegrationQuickSubset runs a representative part of the quick suite
// (control plane, boot, hotplug; the container benchmark without a kite
// binary, to be skipped) and checks the files it writes: the results decode,
// every benchmark is there with its figures or the reason it did not run,
// and the report and chart are well formed. It checks no performance figure.
func TestIntegrationQuickSubset(t *testing.T) {
	env := integrationEnv(t)
	sel, err := Select(Suite(), []string{"control", "boot", "container", "hotplug"})
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	r := Runner{Env: env, Options: Options{Quick: true, Repeat: 1}, Progress: &progress,
		Machine: DetectMachine(context.Background(), "/proc", env.Config.Hypervisor.Path, testutil.Accel())}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := r.Run(ctx, sel, "test")
	t.Logf("progress:\n%s", progress.String())
	out := t.TempDir()
	if err := WriteReport(out, run); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRun(filepath.Join(out, ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if got.Machine.Accel != testutil.Accel() || got.Machine.QEMUVersion == "" || got.Machine.Kernel == "" {
		t.Errorf("machine facts = %+v", got.Machine)
	}
	want := map[string]Status{"control": StatusOK, "boot": StatusOK, "container": StatusSkipped, "hotplug": StatusOK}
	for _, res := range got.Results {
		switch {
		case res.Status != want[res.Name]:
			t.Errorf("%s: status %s (%s), want %s", res.Name, res.Status, res.Reason, want[res.Name])
		case res.Status == StatusSkipped && !strings.Contains(res.Reason, "kite binary"):
			t.Errorf("%s: skip reason %q does not say what is missing", res.Name, res.Reason)
		case res.Status == StatusOK && len(res.Metrics) == 0:
			t.Errorf("%s: no metrics", res.Name)
		}
		for _, m := range res.Metrics {
			if m.N != 1 || len(m.Samples) != 1 || m.Median <= 0 {
				t.Errorf("%s/%s[%s]: %d samples %v, want one positive", res.Name, m.Name, m.Variant, m.N, m.Samples)
			}
		}
		delete(want, res.Name)
	}
	if len(want) != 0 {
		t.Errorf("results lack %v", want)
	}
	page, err := os.ReadFile(filepath.Join(out, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, ReportFile, page)
	for _, name := range []string{"control", "boot", "container", "hotplug", "kite binary"} {
		if !bytes.Contains(page, []byte(name)) {
			t.Errorf("report lacks %q", name)
		}
	}
	svg, err := os.ReadFile(filepath.Join(out, ChartFile))
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, ChartFile, svg)
	leftovers(t, env.WorkDir)
}

// TestIntegrationInterrupt cancels the run while the hotplug benchmark's VM
// is up, as Ctrl-C does: the benchmark is recorded as interrupted, the next
// one as not run, and no process or file of the run is left.
func TestIntegrationInterrupt(t *testing.T) {
	env := integrationEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Cancel once a QEMU of this run exists.
		for ctx.Err() == nil && len(processesUnder(env.WorkDir, "qemu-system")) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		cancel()
	}()
	run := Runner{Env: env, Options: Options{Repeat: 5, Warmup: 1}}.Run(ctx, []Benchmark{hotplugLatency{}, controlPlane{}}, "test")
	if !run.Interrupted {
		t.Error("run not marked interrupted")
	}
	var statuses []Status
	for _, r := range run.Results {
		statuses = append(statuses, r.Status)
	}
	if len(statuses) != 2 || statuses[0] != StatusInterrupted || statuses[1] != StatusInterrupted ||
		run.Results[1].Reason != "not run: the run was interrupted" {
		t.Errorf("results = %+v", run.Results)
	}
	leftovers(t, env.WorkDir)
}

// leftovers fails the test if a process still names the work directory
// (QEMU, virtiofsd) or a benchmark left files in it. Processes get a moment
// to go: virtiofsd's sandboxed child exits just after its parent, which is
// what the runtime waits for.
func leftovers(t *testing.T, work string) {
	t.Helper()
	for end := time.Now().Add(3 * time.Second); len(processesUnder(work, "")) > 0 && time.Now().Before(end); {
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range processesUnder(work, "") {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		stat, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		t.Errorf("process left running: %s\nstat: %s", bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}), stat)
	}
	ents, err := os.ReadDir(work)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left in the work directory: %s", e.Name())
	}
}

// processesUnder lists the pids whose command line mentions dir and
// contains name.
func processesUnder(dir, name string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(dir)) && bytes.Contains(b, []byte(name)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestIntegrationKernels runs the boot breakdown on the test guest: the
// guest kernel's and the agent's logs must give every step, and the steps
// add up to the agent's readiness.
func TestIntegrationKernels(t *testing.T) {
	env := integrationEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := Runner{Env: env, Options: Options{Quick: true, Repeat: 1}}.Run(ctx, []Benchmark{kernels{}}, "test")
	res := run.Results[0]
	if res.Status != StatusOK {
		t.Fatalf("kernels: %s: %s", res.Status, res.Reason)
	}
	t.Logf("notes: %q", res.Notes)
	got := map[string]float64{}
	for _, m := range res.Metrics {
		got[m.Name] = m.Median
		if m.N != 1 {
			t.Errorf("%s[%s]: %d samples", m.Name, m.Variant, m.N)
		}
	}
	for _, name := range []string{"kernel to /init", "agent start", "agent ready", "container create + start", "pod create + start"} {
		if got[name] <= 0 {
			t.Errorf("%s = %v ms, want a positive time (metrics %v)", name, got[name], got)
		}
	}
	if sum := got["kernel to /init"] + got["module loading"] + got["agent start"]; abs(sum-got["agent ready"]) > 0.001 {
		t.Errorf("the steps add up to %v ms, agent ready is %v ms", sum, got["agent ready"])
	}
	leftovers(t, env.WorkDir)
}
