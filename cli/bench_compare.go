package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/kite-vm/kite/benchmarks"
	"github.com/kite-vm/kite/internal/atomicfile"
)

// compareChart is the ratio chart kite bench compare writes.
const compareChart = "compare.svg"

// runBenchCompare prints B's figures against A's and plots their ratios.
func runBenchCompare(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench compare", "[--out DIR] A.json B.json")
	out := fs.String("out", "", "directory for "+compareChart+" (default: B's directory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return fmt.Errorf("%w: need two results files", errUsage)
	}
	a, err := benchmarks.ReadRun(fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := benchmarks.ReadRun(fs.Arg(1))
	if err != nil {
		return err
	}
	c, err := benchmarks.Compare(a, b)
	if err != nil {
		return err
	}
	if err := c.WriteTable(e.io.Out); err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(fs.Arg(1))
	}
	chart := filepath.Join(dir, compareChart)
	if err := atomicfile.WriteBytes(chart, 0o644, []byte(c.SVG())); err != nil {
		return fmt.Errorf("writing the chart: %w", err)
	}
	fmt.Fprintf(e.io.Out, "\nchart: %s\n", chart)
	return nil
}
