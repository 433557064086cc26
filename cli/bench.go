package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kite-vm/kite/benchmarks"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/guest"
	"github.com/kite-vm/kite/internal/version"
)

// benchOptions are kite bench's flags.
type benchOptions struct {
	quick          bool
	only           string
	out            string
	repeat, warmup int
	json           bool
	guests         stringList
}

// defaults fills in the counts left to --quick.
func (o *benchOptions) defaults() {
	if o.repeat == 0 {
		o.repeat = 3
		if o.quick {
			o.repeat = 2
		}
	}
	if o.warmup == -1 {
		o.warmup = 1
		if o.quick {
			o.warmup = 0
		}
	}
}

// runBench runs the benchmark suite (or compares two runs) and writes the
// results, the HTML report and the chart into --out, also when Ctrl-C cut
// the run short.
func runBench(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "compare":
			return runBenchCompare(ctx, e, args[1:])
		case "list":
			for _, b := range benchmarks.Suite() {
				fmt.Fprintf(e.io.Out, "%-10s %s (baseline: %s)\n", b.Name(), b.Title(), orDash(b.Baseline()))
			}
			return nil
		}
	}
	var o benchOptions
	fs := newFlags(e, "bench", "[--quick] [--only NAME,...] [--out DIR] [--repeat N] [--guest DIR]... [--json]\n       kite bench compare [--out DIR] A.json B.json\n       kite bench list")
	fs.BoolVar(&o.quick, "quick", false, "smaller sizes and fewer repeats: a smoke run of a few minutes")
	fs.StringVar(&o.only, "only", "", "comma-separated benchmarks to run (kite bench list names them)")
	fs.StringVar(&o.out, "out", "bench-results", "directory for "+benchmarks.ResultsFile+", "+benchmarks.ReportFile+" and "+benchmarks.ChartFile)
	fs.IntVar(&o.repeat, "repeat", 0, "measured repeats per benchmark (default 3, 2 with --quick)")
	fs.IntVar(&o.warmup, "warmup", -1, "unrecorded repeats before them (default 1, 0 with --quick)")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	fs.Var(&o.guests, "guest", "another guest image (kite guest build --out DIR) for the boot breakdown by kernel (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if o.repeat < 0 || o.warmup < -1 {
		return fmt.Errorf("%w: --repeat and --warmup must not be negative", errUsage)
	}
	for _, dir := range o.guests {
		if _, err := guest.LoadManifest(dir); err != nil {
			return fmt.Errorf("%w: --guest %s: %w", errUsage, dir, err)
		}
	}
	o.defaults()
	var only []string
	if o.only != "" {
		only = strings.Split(o.only, ",")
	}
	sel, err := benchmarks.Select(benchmarks.Suite(), only)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return runSuite(ctx, e, o, only, sel)
}

func runSuite(ctx context.Context, e *env, o benchOptions, only []string, sel []benchmarks.Benchmark) error {
	cfg, err := e.config()
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the kite binary: %w", err)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("creating the output directory: %w", err)
	}
	// Short: it holds unix sockets, whose paths are limited to 107 bytes.
	work, err := os.MkdirTemp("", "kb")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	env := benchmarks.Env{Config: cfg, Kite: exe, WorkDir: work, Quick: o.quick, GuestDirs: o.guests,
		ConfigPath: configs.Locate(e.globals.configPath, e.getenv, configs.SystemPath)}
	r := benchmarks.Runner{
		Env:      env,
		Options:  benchmarks.Options{Quick: o.quick, Repeat: o.repeat, Warmup: o.warmup, Only: only},
		Machine:  benchmarks.DetectMachine(ctx, "/proc", cfg.Hypervisor.Path, env.Accel()),
		Progress: e.io.Err,
	}
	fmt.Fprintf(e.io.Err, "kite bench: %d benchmarks, accel %s, results in %s\n", len(sel), r.Machine.Accel, o.out)
	run := r.Run(ctx, sel, version.String())
	if err := benchmarks.WriteReport(o.out, run); err != nil {
		return err
	}
	if o.json {
		err = benchmarks.WriteJSON(e.io.Out, run)
	} else {
		err = benchmarks.WriteTable(e.io.Out, run)
		fmt.Fprintf(e.io.Out, "\nreport: %s\n", filepath.Join(o.out, benchmarks.ReportFile))
	}
	return errors.Join(err, runOutcome(run, o.out))
}

// runOutcome is the command's error: an interrupted run or failed
// benchmarks (skips are not failures: the report says why).
func runOutcome(run benchmarks.Run, out string) error {
	if run.Interrupted {
		return fmt.Errorf("interrupted: partial results written to %s", out)
	}
	var failed []string
	for _, r := range run.Results {
		if r.Status == benchmarks.StatusFailed {
			failed = append(failed, r.Name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("benchmarks failed: %s (reasons in %s)", strings.Join(failed, ", "), filepath.Join(out, benchmarks.ResultsFile))
	}
	return nil
}
