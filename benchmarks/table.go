package benchmarks

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Ratio returns a metric's median over the baseline variant's median of
// the same metric in res, and false when there is no such baseline (or m
// is the baseline).
func Ratio(res Result, m *Metric) (float64, bool) {
	if res.Baseline == "" || m.Variant == res.Baseline {
		return 0, false
	}
	for _, b := range res.Metrics {
		if b.Name == m.Name && b.Variant == res.Baseline && b.Median != 0 {
			return m.Median / b.Median, true
		}
	}
	return 0, false
}

// WriteTable prints the run as a table: one line per metric and variant,
// with its ratio to the baseline, and one line per benchmark not run.
func WriteTable(w io.Writer, run Run) error {
	fmt.Fprintf(w, "accel %s | %s | %d CPUs | kernel %s | QEMU %s\n", run.Machine.Accel, run.Machine.CPUModel, run.Machine.CPUs, run.Machine.Kernel, run.Machine.QEMUVersion)
	if run.Interrupted {
		fmt.Fprintln(w, "INTERRUPTED: partial results")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\tmetric\tvariant\tmedian\tmin\tmax\tunit\tn\tvs baseline\t")
	for _, res := range run.Results {
		for _, m := range res.Metrics {
			ratio := ""
			if r, ok := Ratio(res, m); ok {
				ratio = fmt.Sprintf("%.2fx", r)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n", res.Name, m.Name, m.Variant,
				formatValue(m.Median), formatValue(m.Min), formatValue(m.Max), m.Unit, m.N, ratio)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range run.Results {
		if res.Status != StatusOK {
			fmt.Fprintf(w, "%s: %s: %s\n", res.Name, res.Status, res.Reason)
		}
	}
	return nil
}
