package benchmarks

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		samples []float64
		want    Stats
	}{
		{"none", nil, Stats{}},
		{"one", []float64{7}, Stats{N: 1, Median: 7, Min: 7, Max: 7}},
		{"odd, unsorted", []float64{9, 1, 5}, Stats{N: 3, Median: 5, Min: 1, Max: 9}},
		{"even: mean of the middle two", []float64{4, 1, 3, 10}, Stats{N: 4, Median: 3.5, Min: 1, Max: 10}},
		{"negative", []float64{-2, -8}, Stats{N: 2, Median: -5, Min: -8, Max: -2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.samples...)
			if diff := cmp.Diff(tc.want, Summarize(tc.samples)); diff != "" {
				t.Errorf("Summarize(%v) (-want +got):\n%s", tc.samples, diff)
			}
			if !cmp.Equal(in, tc.samples) {
				t.Errorf("Summarize reordered its input: %v", tc.samples)
			}
		})
	}
}

func TestRecorder(t *testing.T) {
	rec := &Recorder{discard: true}
	rec.Add("boot", "kite", Millis, 1000) // warm-up: dropped
	rec.discard = false
	rec.Add("boot", "kite", Millis, 3)
	rec.Add("boot", "bare", Millis, 2)
	rec.Add("boot", "kite", Millis, 1)
	want := []*Metric{
		{Name: "boot", Variant: "kite", Unit: Millis, Samples: []float64{3, 1}, Stats: Stats{N: 2, Median: 2, Min: 1, Max: 3}},
		{Name: "boot", Variant: "bare", Unit: Millis, Samples: []float64{2}, Stats: Stats{N: 1, Median: 2, Min: 2, Max: 2}},
	}
	if diff := cmp.Diff(want, rec.Metrics()); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestFormatValue(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 1234.5: "1234", 56.78: "56.8", 3.14159: "3.14", 0.01234: "0.0123", -250: "-250"} {
		if got := formatValue(in); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", in, got, want)
		}
	}
}
