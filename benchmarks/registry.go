package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Benchmark is one named benchmark of the suite.
type Benchmark interface {
	Name() string
	Title() string
	// Baseline names what Kite is measured against.
	Baseline() string
	// Setup prepares what every repeat shares (VMs, images, trees) and
	// returns a *SkipError when a prerequisite is missing. Whatever it
	// started is stopped by the Trial's Close, or before Setup returns an
	// error.
	Setup(ctx context.Context, env Env) (Trial, error)
}

// Trial is a prepared benchmark.
type Trial interface {
	// Repeat measures once, Kite and baseline interleaved (their order
	// alternating with rec.Repeat), recording samples in rec.
	Repeat(ctx context.Context, rec *Recorder) error
	// Notes are the parameters the figures depend on.
	Notes() []string
	// Close stops and removes everything Setup and the repeats started.
	Close(ctx context.Context) error
}

// Repeats is an optional ability of a Benchmark whose repeats are costly
// (many VMs each): it caps the warm-up and repeat counts.
type Repeats interface {
	Repeats(o Options) (warmup, repeat int)
}

// SkipError says a benchmark cannot run here and why.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

func skip(format string, args ...any) error {
	return &SkipError{Reason: fmt.Sprintf(format, args...)}
}

// ErrUnknown marks a benchmark name the suite does not have.
var ErrUnknown = errors.New("unknown benchmark")

// Suite returns every benchmark, in the order they run.
func Suite() []Benchmark {
	return []Benchmark{
		controlPlane{},
		boot{},
		kernels{},
		containerStart{},
		density{},
		burst{},
		footprint{},
		balloon{},
		storage{},
		hotplugLatency{},
		network{},
	}
}

// Names returns the names of benchmarks.
func Names(bs []Benchmark) []string {
	names := make([]string, len(bs))
	for i, b := range bs {
		names[i] = b.Name()
	}
	return names
}

// Select returns the benchmarks of all named in only, in suite order; an
// empty only selects all of them.
func Select(all []Benchmark, only []string) ([]Benchmark, error) {
	if len(only) == 0 {
		return all, nil
	}
	names := Names(all)
	var unknown []string
	for _, n := range only {
		if !slices.Contains(names, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w %s: the benchmarks are %s", ErrUnknown, strings.Join(quoteAll(unknown), ", "), strings.Join(names, ", "))
	}
	var sel []Benchmark
	for _, b := range all {
		if slices.Contains(only, b.Name()) {
			sel = append(sel, b)
		}
	}
	return sel, nil
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return q
}
