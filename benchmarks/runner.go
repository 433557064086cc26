package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/vm"
)

// Env is what benchmarks run with.
type Env struct {
	// Config is Kite's effective configuration: guest image, QEMU,
	// virtiofsd and the VM's size come from it.
	Config *configs.Config
	// Host is what the host offers; nil: detected (vm.DetectHost), once
	// per run by the Runner.
	Host *vm.Host
	// Kite is the kite binary the CLI benchmarks run (create, start...).
	Kite string
	// ConfigPath is the configuration file Kite was given ("" for the
	// defaults); the kite commands the benchmarks run get it too.
	ConfigPath string
	// WorkDir holds sockets, images and bundles; keep its path short (unix
	// socket paths are limited to 107 bytes). Benchmarks make their own
	// directories in it and remove them.
	WorkDir string
	// Quick selects the smaller sizes and counts of `kite bench --quick`.
	Quick bool
	// GuestDirs are guest images (kite guest build --out DIR) the boot
	// breakdown runs besides Config's, one per guest kernel.
	GuestDirs []string
}

// host is what the host offers: Host, or what vm.DetectHost finds.
func (e Env) host() vm.Host {
	if e.Host != nil {
		return *e.Host
	}
	return vm.DetectHost("")
}

// Accel names the accelerator the benchmark VMs run with, for the results'
// machine facts: the one hypervisor.accel names, or for "auto" the best
// the host offers, as vm.PlanMachine picks it.
func (e Env) Accel() string {
	switch e.Config.Hypervisor.Accel {
	case configs.AccelTCG:
		return "tcg"
	case configs.AccelKVM:
		return "kvm"
	}
	return string(e.host().Accel)
}

// closeBudget bounds a trial's Close, which runs even after Ctrl-C.
const closeBudget = 2 * time.Minute

// Runner runs benchmarks: setup, warm-up, repeats, close.
type Runner struct {
	Env     Env
	Options Options
	Machine Machine
	// Progress receives one line per benchmark step and repeat.
	Progress io.Writer
}

// Run runs bs in order and returns the results. When ctx ends (Ctrl-C) the
// benchmark running is closed, the ones after it are recorded as not run,
// and Run returns the partial results with Interrupted set.
func (r Runner) Run(ctx context.Context, bs []Benchmark, kiteVersion string) Run {
	run := Run{Schema: SchemaVersion, KiteVersion: kiteVersion, Started: time.Now().UTC(), Machine: r.Machine, Options: r.Options}
	if r.Env.Host == nil {
		h := vm.DetectHost("")
		r.Env.Host = &h
	}
	for _, b := range bs {
		if ctx.Err() != nil {
			run.Results = append(run.Results, Result{Name: b.Name(), Title: b.Title(), Baseline: b.Baseline(),
				Status: StatusInterrupted, Reason: "not run: the run was interrupted", Metrics: []*Metric{}})
			continue
		}
		run.Results = append(run.Results, r.runOne(ctx, b))
	}
	run.Interrupted = ctx.Err() != nil
	run.Finished = time.Now().UTC()
	return run
}

func (r Runner) runOne(ctx context.Context, b Benchmark) (res Result) {
	start := time.Now()
	res = Result{Name: b.Name(), Title: b.Title(), Baseline: b.Baseline(), Status: StatusOK, Metrics: []*Metric{}}
	defer func() { res.Seconds = time.Since(start).Seconds() }()
	r.printf(b, "setting up")
	trial, err := b.Setup(ctx, r.Env)
	if err != nil {
		res.Status, res.Reason = classify(ctx, err)
		r.printf(b, "%s: %s", res.Status, res.Reason)
		return res
	}
	res.Notes = trial.Notes()
	rec := &Recorder{}
	err = r.repeat(ctx, b, trial, rec)
	if pf, ok := trial.(PartialFailer); ok && err == nil {
		err = pf.Failed()
	}
	res.Metrics = rec.Metrics()
	if err != nil {
		res.Status, res.Reason = classify(ctx, err)
		r.printf(b, "%s: %s", res.Status, res.Reason)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeBudget)
	defer cancel()
	if cerr := trial.Close(cctx); cerr != nil {
		res.Status = StatusFailed
		res.Reason = strings.TrimPrefix(res.Reason+"; cleaning up: "+cerr.Error(), "; ")
		r.printf(b, "cleaning up: %v", cerr)
	}
	return res
}

// classify turns a benchmark's error into its status and reason.
func classify(ctx context.Context, err error) (Status, string) {
	var s *SkipError
	switch {
	case errors.As(err, &s):
		return StatusSkipped, s.Reason
	case ctx.Err() != nil:
		return StatusInterrupted, err.Error()
	}
	return StatusFailed, err.Error()
}

func (r Runner) repeat(ctx context.Context, b Benchmark, trial Trial, rec *Recorder) error {
	warmup, repeat := r.Options.Warmup, r.Options.Repeat
	if c, ok := b.(Repeats); ok {
		warmup, repeat = c.Repeats(r.Options)
	}
	for i := range warmup {
		rec.discard, rec.Repeat = true, -1-i
		t0 := time.Now()
		if err := trial.Repeat(ctx, rec); err != nil {
			return fmt.Errorf("warm-up %d: %w", i+1, err)
		}
		r.printf(b, "warm-up %d/%d  %5.1fs", i+1, warmup, time.Since(t0).Seconds())
	}
	rec.discard = false
	for i := range repeat {
		rec.Repeat = i
		t0 := time.Now()
		if err := trial.Repeat(ctx, rec); err != nil {
			return fmt.Errorf("repeat %d: %w", i+1, err)
		}
		r.printf(b, "repeat %d/%d  %5.1fs  %s", i+1, repeat, time.Since(t0).Seconds(), lastSamples(rec.Metrics()))
	}
	return nil
}

// lastSamples summarizes a repeat's samples for the progress line.
func lastSamples(ms []*Metric) string {
	const most = 6
	var parts []string
	for i, m := range ms {
		if i == most {
			parts = append(parts, fmt.Sprintf("(+%d more)", len(ms)-most))
			break
		}
		parts = append(parts, fmt.Sprintf("%s[%s]=%s%s", m.Name, m.Variant, formatValue(m.Samples[len(m.Samples)-1]), m.Unit))
	}
	return strings.Join(parts, " ")
}

func (r Runner) printf(b Benchmark, format string, args ...any) {
	if r.Progress == nil {
		return
	}
	fmt.Fprintf(r.Progress, "%-10s %s\n", b.Name(), fmt.Sprintf(format, args...))
}

// formatValue prints a figure with about three significant digits.
func formatValue(v float64) string {
	switch a := abs(v); {
	case a >= 100 || a == 0:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
