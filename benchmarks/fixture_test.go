package benchmarks

import (
	"time"
)

// fixtureRun is a small fixed run for the rendering and comparison tests.
func fixtureRun(accel string, scale float64) Run {
	metric := func(name, variant string, unit Unit, samples ...float64) *Metric {
		for i := range samples {
			samples[i] *= scale
		}
		return &Metric{Name: name, Variant: variant, Unit: unit, Samples: samples, Stats: Summarize(samples)}
	}
	start := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	return Run{
		Schema: SchemaVersion, KiteVersion: "test", Started: start, Finished: start.Add(90 * time.Second),
		Machine: Machine{Accel: accel, CPUModel: "Test CPU", CPUs: 2, MemoryMiB: 24000, Kernel: "6.1.0-test",
			QEMUVersion: "7.2.22 (Debian)", GoVersion: "go1.26"},
		Options: Options{Quick: true, Repeat: 2, Warmup: 1},
		Results: []Result{
			{Name: "boot", Title: "Boot breakdown", Status: StatusOK, Baseline: "bare", Notes: []string{"512 MiB guest"}, Seconds: 30,
				Metrics: []*Metric{
					metric("agent ready", "kite", Millis, 2500, 2700),
					metric("agent ready", "bare", Millis, 2400, 2450),
					metric("QEMU started", "kite", Millis, 80, 90),
					metric("QEMU started", "bare", Millis, 75, 77),
				}},
			{Name: "storage", Title: "Storage <in> the guest", Status: StatusOK, Baseline: "tmpfs", Seconds: 40,
				Metrics: []*Metric{
					metric("sequential read", "virtio-fs", MiBps, 40, 60),
					metric("sequential read", "tmpfs", MiBps, 80, 100),
					metric("200 small files", "virtio-fs", Millis, 800, 900, 1000),
					metric("200 small files", "tmpfs", Millis, 500, 600, 700),
				}},
			{Name: "network", Title: "Pod network", Status: StatusSkipped, Reason: "no pod netns in the runtime", Metrics: []*Metric{}},
		},
	}
}
