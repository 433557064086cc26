package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/benchmarks"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// runKite runs the CLI in-process with the embedded default configuration.
func runKite(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code = Main(ctx, args, IO{In: strings.NewReader(""), Out: &out, Err: &errOut}, func(string) string { return "" })
	return code, out.String(), errOut.String()
}

func TestBenchBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown name", []string{"bench", "--only", "boot,nope"}, `unknown benchmark "nope": the benchmarks are control, boot, kernels, container, density, burst, footprint, balloon, storage, hotplug, network`},
		{"negative repeat", []string{"bench", "--repeat", "-2"}, "must not be negative"},
		{"stray argument", []string{"bench", "boot"}, "unexpected arguments"},
		{"guest without an image", []string{"bench", "--guest", "/nonexistent/guest"}, "--guest /nonexistent/guest: no guest image"},
		{"compare one file", []string{"bench", "compare", "a.json"}, "need two results files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runKite(t, tc.args...)
			if code != exitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("kite %v = %d, stderr %q; want %d and %q", tc.args, code, errOut, exitUsage, tc.want)
			}
		})
	}
}

func TestBenchList(t *testing.T) {
	code, out, _ := runKite(t, "bench", "list")
	if code != exitOK {
		t.Fatalf("kite bench list = %d", code)
	}
	for _, name := range benchmarks.Names(benchmarks.Suite()) {
		if !strings.Contains(out, name+" ") {
			t.Errorf("list lacks %q:\n%s", name, out)
		}
	}
}

// writeRun writes a one-metric run to dir/name.
func writeRun(t *testing.T, dir, name, accel string, median float64) string {
	t.Helper()
	run := benchmarks.Run{Schema: benchmarks.SchemaVersion, Machine: benchmarks.Machine{Accel: accel}, Results: []benchmarks.Result{{
		Name: "boot", Status: benchmarks.StatusOK, Metrics: []*benchmarks.Metric{{Name: "agent ready", Variant: "kite",
			Unit: benchmarks.Millis, Samples: []float64{median}, Stats: benchmarks.Summarize([]float64{median})}}}}}
	var b bytes.Buffer
	if err := benchmarks.WriteJSON(&b, run); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBenchCompare(t *testing.T) {
	dir := t.TempDir()
	a, b := writeRun(t, dir, "a.json", "tcg", 2000), writeRun(t, dir, "b.json", "tcg", 1000)
	out := t.TempDir()
	code, stdout, stderr := runKite(t, "bench", "compare", "--out", out, a, b)
	if code != exitOK {
		t.Fatalf("compare = %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "0.50x") || !strings.Contains(stdout, "better") {
		t.Errorf("compare output lacks the ratio:\n%s", stdout)
	}
	if svg, err := os.ReadFile(filepath.Join(out, compareChart)); err != nil || !bytes.Contains(svg, []byte("0.50x")) {
		t.Errorf("chart: %v", err)
	}

	k := writeRun(t, dir, "k.json", "kvm", 100)
	code, _, stderr = runKite(t, "bench", "compare", a, k)
	if code != exitError || !strings.Contains(stderr, "different accelerators") {
		t.Errorf("compare tcg/kvm = %d, %q; want an error naming the accelerators", code, stderr)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema": 99}`), 0o644)
	code, _, stderr = runKite(t, "bench", "compare", a, bad)
	if code != exitError || !strings.Contains(stderr, "schema 99") {
		t.Errorf("compare with schema 99 = %d, %q", code, stderr)
	}
}

// TestIntegrationBenchControl runs the control-plane benchmark through the
// CLI with --json and checks the output and the files.
func TestIntegrationBenchControl(t *testing.T) {
	testutil.RequireQEMU(t)
	out := t.TempDir()
	code, stdout, stderr := runKite(t, "bench", "--quick", "--only", "control", "--repeat", "1", "--out", out, "--json")
	if code != exitOK {
		t.Fatalf("kite bench = %d: %s", code, stderr)
	}
	run, err := benchmarks.DecodeRun(strings.NewReader(stdout))
	if err != nil {
		t.Fatalf("stdout is not a results file: %v\n%s", err, stdout)
	}
	if len(run.Results) != 1 || run.Results[0].Status != benchmarks.StatusOK || run.Machine.Accel == "" {
		t.Errorf("results = %+v", run)
	}
	if !strings.Contains(stderr, "control    repeat 1/1") {
		t.Errorf("no progress line on stderr:\n%s", stderr)
	}
	for _, f := range []string{benchmarks.ResultsFile, benchmarks.ReportFile, benchmarks.ChartFile} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
