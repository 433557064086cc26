package testhost

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBenchMetrics(t *testing.T) {
	out := "goos: linux\nBenchmarkX\nBenchmarkX-2   \t       1\t35302563490 ns/op\t       170.8 giveback-ms\t        90.23 pass-ms\nBenchmarkXY-2 1 5 ns/op 1 other\nPASS\n"
	got := BenchMetrics(out, "BenchmarkX-")
	want := map[string]float64{"giveback-ms": 170.8, "pass-ms": 90.23}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BenchMetrics (-want +got):\n%s", diff)
	}
}
