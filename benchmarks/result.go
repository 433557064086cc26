package benchmarks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// SchemaVersion is the version of the results file format (docs/bench.md).
// It changes only when a field changes meaning or disappears.
const SchemaVersion = 1

// Run is one `kite bench` run: the results file.
type Run struct {
	Schema      int       `json:"schema"`
	KiteVersion string    `json:"kiteVersion"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	Machine     Machine   `json:"machine"`
	Options     Options   `json:"options"`
	// Interrupted says the run was cut short (Ctrl-C): the results are partial.
	Interrupted bool     `json:"interrupted,omitempty"`
	Results     []Result `json:"results"`
}

// Options are how the run was asked for.
type Options struct {
	Quick  bool     `json:"quick"`
	Repeat int      `json:"repeat"` // measured repeats per benchmark
	Warmup int      `json:"warmup"` // unrecorded repeats before them
	Only   []string `json:"only,omitempty"`
}

// Status is how a benchmark ended.
type Status string

const (
	StatusOK          Status = "ok"
	StatusSkipped     Status = "skipped"     // a prerequisite is missing: Reason says which
	StatusFailed      Status = "failed"      // Reason is the error
	StatusInterrupted Status = "interrupted" // cut short or never started: Metrics are partial
)

// Result is one benchmark's outcome.
type Result struct {
	Name   string `json:"name"`
	Title  string `json:"title"`
	Status Status `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Baseline names what Kite is measured against in this benchmark.
	Baseline string `json:"baseline,omitempty"`
	// Notes record the parameters (sizes, counts) that the figures depend on.
	Notes   []string  `json:"notes,omitempty"`
	Seconds float64   `json:"seconds"` // wall time of the whole benchmark
	Metrics []*Metric `json:"metrics"`
}

// Unit is a metric's unit; it also says which direction is better.
type Unit string

const (
	Millis  Unit = "ms"
	Micros  Unit = "us"
	MiB     Unit = "MiB"
	MiBps   Unit = "MiB/s"
	Percent Unit = "%"
	// PodsPerSec is a start rate: pods started per second.
	PodsPerSec Unit = "pods/s"
)

// HigherIsBetter reports whether a larger value of u is an improvement.
func (u Unit) HigherIsBetter() bool { return u == MiBps || u == PodsPerSec }

// Metric is one measured quantity of one variant (Kite or its baseline).
type Metric struct {
	Name    string    `json:"name"`
	Variant string    `json:"variant"`
	Unit    Unit      `json:"unit"`
	Samples []float64 `json:"samples"`
	Stats
}

// Stats summarize a metric's samples.
type Stats struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// ErrSchema marks a results file this version cannot read.
var ErrSchema = errors.New("unsupported results file")

// WriteJSON writes run as indented JSON.
func WriteJSON(w io.Writer, run Run) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(run)
}

// DecodeRun reads a results file and checks its schema version.
func DecodeRun(r io.Reader) (Run, error) {
	var run Run
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&run); err != nil {
		return Run{}, fmt.Errorf("%w: %w", ErrSchema, err)
	}
	if run.Schema != SchemaVersion {
		return Run{}, fmt.Errorf("%w: schema %d, this kite reads %d", ErrSchema, run.Schema, SchemaVersion)
	}
	return run, nil
}

// ReadRun reads the results file at path.
func ReadRun(path string) (Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return Run{}, err
	}
	defer f.Close()
	run, err := DecodeRun(f)
	if err != nil {
		return Run{}, fmt.Errorf("reading %q: %w", path, err)
	}
	return run, nil
}

// Find returns the metric of result name, metric and variant, or nil.
func (r Run) Find(result, metric, variant string) *Metric {
	for _, res := range r.Results {
		if res.Name != result {
			continue
		}
		for _, m := range res.Metrics {
			if m.Name == metric && m.Variant == variant {
				return m
			}
		}
	}
	return nil
}
