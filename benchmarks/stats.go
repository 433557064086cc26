package benchmarks

import (
	"slices"
	"time"
)

// Summarize returns the median, minimum and maximum of samples. The median
// of an even count is the mean of the two middle samples. No samples give
// the zero Stats.
func Summarize(samples []float64) Stats {
	if len(samples) == 0 {
		return Stats{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Stats{N: n, Median: med, Min: s[0], Max: s[n-1]}
}

// Recorder collects the samples of one benchmark, metric by metric, in the
// order metrics first appear. A Recorder is not safe for concurrent use.
type Recorder struct {
	metrics []*Metric
	discard bool
	// Repeat is the index of the repeat being recorded (0-based; -1 during
	// warm-up): benchmarks alternate the order of Kite and baseline with it.
	Repeat int
}

// Add records one sample. During warm-up the sample is dropped.
func (r *Recorder) Add(name, variant string, unit Unit, value float64) {
	if r.discard {
		return
	}
	m := r.find(name, variant)
	if m == nil {
		m = &Metric{Name: name, Variant: variant, Unit: unit}
		r.metrics = append(r.metrics, m)
	}
	m.Samples = append(m.Samples, value)
	m.Stats = Summarize(m.Samples)
}

func (r *Recorder) find(name, variant string) *Metric {
	for _, m := range r.metrics {
		if m.Name == name && m.Variant == variant {
			return m
		}
	}
	return nil
}

// Metrics returns what was recorded so far.
func (r *Recorder) Metrics() []*Metric { return r.metrics }

// ms converts a duration to a sample in milliseconds.
func ms(d time.Duration) float64 { return d.Seconds() * 1000 }
