package benchmarks

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// ErrMixedAccel refuses to compare a KVM run with a TCG run: their figures
// differ by the accelerator far more than by any change in Kite.
var ErrMixedAccel = errors.New("runs used different accelerators")

// Delta is one metric of one variant in two runs.
type Delta struct {
	Result, Metric, Variant string
	Unit                    Unit
	A, B                    Stats
	// Ratio is B's median over A's; 0 when either run lacks the metric.
	Ratio float64
	// OnlyIn names the run that has the metric ("A" or "B") when the other
	// lacks it.
	OnlyIn string
}

// Better reports whether B improves on A for this metric.
func (d Delta) Better() bool {
	if d.Ratio <= 0 {
		return false
	}
	if d.Unit.HigherIsBetter() {
		return d.Ratio > 1
	}
	return d.Ratio < 1
}

// Comparison is B measured against A.
type Comparison struct {
	A, B   Machine
	Deltas []Delta
}

// Compare matches the metrics of b to those of a by benchmark, metric and
// variant. It refuses runs with different accelerators.
func Compare(a, b Run) (Comparison, error) {
	if a.Machine.Accel != b.Machine.Accel {
		return Comparison{}, fmt.Errorf("%w: A ran under %q, B under %q", ErrMixedAccel, a.Machine.Accel, b.Machine.Accel)
	}
	c := Comparison{A: a.Machine, B: b.Machine}
	for _, res := range a.Results {
		for _, m := range res.Metrics {
			d := Delta{Result: res.Name, Metric: m.Name, Variant: m.Variant, Unit: m.Unit, A: m.Stats}
			if mb := b.Find(res.Name, m.Name, m.Variant); mb != nil {
				d.B = mb.Stats
				if m.Median != 0 {
					d.Ratio = mb.Median / m.Median
				}
			} else {
				d.OnlyIn = "A"
			}
			c.Deltas = append(c.Deltas, d)
		}
	}
	for _, res := range b.Results {
		for _, m := range res.Metrics {
			if a.Find(res.Name, m.Name, m.Variant) == nil {
				c.Deltas = append(c.Deltas, Delta{Result: res.Name, Metric: m.Name, Variant: m.Variant, Unit: m.Unit, B: m.Stats, OnlyIn: "B"})
			}
		}
	}
	return c, nil
}

// WriteTable prints the comparison, one line per metric and variant.
func (c Comparison) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "A: %s, %s, QEMU %s\nB: %s, %s, QEMU %s\n", c.A.Accel, c.A.CPUModel, c.A.QEMUVersion, c.B.Accel, c.B.CPUModel, c.B.QEMUVersion)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\tmetric\tvariant\tA median\tB median\tunit\tB/A\t\t")
	for _, d := range c.Deltas {
		a, b, ratio, verdict := formatValue(d.A.Median), formatValue(d.B.Median), fmt.Sprintf("%.2fx", d.Ratio), ""
		switch {
		case d.OnlyIn == "A":
			b, ratio = "-", "only in A"
		case d.OnlyIn == "B":
			a, ratio = "-", "only in B"
		case d.Ratio == 0:
			ratio = "-"
		case d.Better():
			verdict = "better"
		case d.Ratio != 1:
			verdict = "worse"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", d.Result, d.Metric, d.Variant, a, b, d.Unit, ratio, verdict)
	}
	return tw.Flush()
}

// SVG plots each ratio B/A on a log scale around 1: bars to the right are
// larger in B, green when that is better, red when worse.
func (c Comparison) SVG() string {
	// Labels name benchmark, metric and variant: a wider column than charts'.
	const rowH, top, labels = 16, 40, 330
	const mid, half = labels + (chartWidth-labels)/2, (chartWidth - labels - 60) / 2
	var b strings.Builder
	fmt.Fprintf(&b, "<text x=\"4\" y=\"18\" class=\"h\">Kite benchmarks: B / A (accelerator %s)</text>\n", esc(strings.ToUpper(c.A.Accel)))
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"34\" class=\"l\" text-anchor=\"middle\">1.0x (log scale, edges at 0.25x and 4x)</text>\n", mid)
	y := top
	for _, d := range c.Deltas {
		if d.Ratio <= 0 {
			continue
		}
		label := d.Result + " " + d.Metric + " [" + d.Variant + "]"
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\" class=\"r\" text-anchor=\"end\">%s</text>\n", labels-6, y+11, esc(label))
		x := math.Max(-1, math.Min(1, math.Log(d.Ratio)/math.Log(4))) * half
		colour := "#d62728"
		if d.Better() {
			colour = "#2ca02c"
		}
		fmt.Fprintf(&b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"12\" fill=\"%s\"/>\n", float64(mid)+math.Min(0, x), y, math.Abs(x), colour)
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%d\" class=\"v\">%.2fx</text>\n", float64(mid)+math.Max(0, x)+4, y+10, d.Ratio)
		y += rowH
	}
	fmt.Fprintf(&b, "<path d=\"M%d %dV%d\" class=\"w\"/>\n", mid, top-4, y)
	return fmt.Sprintf("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n%s\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n%s</svg>\n",
		chartWidth, y+8, chartWidth, y+8, svgStyle, b.String())
}
