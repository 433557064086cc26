package benchmarks

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestCompare(t *testing.T) {
	a, b := fixtureRun("tcg", 1), fixtureRun("tcg", 2)
	b.Results[0].Metrics = b.Results[0].Metrics[:3] // B lacks boot/QEMU started/bare
	b.Results[1].Metrics = append(b.Results[1].Metrics, &Metric{Name: "new", Variant: "kite", Unit: Millis, Samples: []float64{1}, Stats: Stats{N: 1, Median: 1, Min: 1, Max: 1}})
	c, err := Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Result, Metric, Variant, OnlyIn string
		Ratio                           float64
		Better                          bool
	}
	var got []row
	for _, d := range c.Deltas {
		got = append(got, row{d.Result, d.Metric, d.Variant, d.OnlyIn, d.Ratio, d.Better()})
	}
	want := []row{
		{"boot", "agent ready", "kite", "", 2, false},
		{"boot", "agent ready", "bare", "", 2, false},
		{"boot", "QEMU started", "kite", "", 2, false},
		{"boot", "QEMU started", "bare", "A", 0, false},
		{"storage", "sequential read", "virtio-fs", "", 2, true}, // MiB/s: higher is better
		{"storage", "sequential read", "tmpfs", "", 2, true},
		{"storage", "200 small files", "virtio-fs", "", 2, false},
		{"storage", "200 small files", "tmpfs", "", 2, false},
		{"storage", "new", "kite", "B", 0, false},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
		t.Errorf("deltas (-want +got):\n%s", diff)
	}
	var table bytes.Buffer
	if err := c.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.txt", table.Bytes())
	svg := []byte(c.SVG())
	wellFormed(t, "compare.svg", svg)
	golden(t, "compare.svg", svg)
}

func TestCompareRefusesMixedAccel(t *testing.T) {
	_, err := Compare(fixtureRun("tcg", 1), fixtureRun("kvm", 1))
	if !errors.Is(err, ErrMixedAccel) {
		t.Errorf("Compare(tcg, kvm) = %v, want ErrMixedAccel", err)
	}
}
