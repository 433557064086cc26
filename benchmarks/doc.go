// Package benchmarks owns Kite's benchmark suite and its report: the named
// benchmarks (Suite), the runner that gives each a warm-up and N repeats
// with Kite and its baseline interleaved, the results file, the terminal
// table, the self-contained HTML report with SVG charts drawn here, and the
// comparison of two runs. `kite bench` is its command line.
//
// Every benchmark measures Kite side by side with a baseline in the same
// run, so that a noisy machine moves both: the same QEMU command line
// started by hand, without Kite's engine (boot), the Debian guest kernel
// (kernels), runc, crun and gVisor's runsc on the same bundle, beside
// Kite's cold, pooled and templated pods (container, density, burst), one
// pod (footprint), a VM without the free page reporting balloon
// (balloon), the guest's own tmpfs (storage), the QMP phase (hotplug),
// reading the same files by hand (control). A benchmark whose
// prerequisite is missing is recorded as skipped with the reason, never
// dropped; a peer or mode that cannot run is left out with a note.
//
// # Results file (results.json), schema 1
//
//	schema       int     SchemaVersion; readers refuse another
//	kiteVersion  string  the kite that ran
//	started, finished    RFC 3339 UTC
//	machine      {accel "kvm"|"tcg", cpuModel, cpus, memoryMiB, kernel, qemuVersion, goVersion}
//	options      {quick, repeat, warmup, only [names]}
//	interrupted  bool    true when Ctrl-C cut the run: results are partial
//	results      [{
//	  name, title        the benchmark (kite bench list)
//	  status             "ok" | "skipped" | "failed" | "interrupted"
//	  reason             why, when status is not ok
//	  baseline           the variant the others are measured against
//	  notes [string]     sizes and counts the figures depend on
//	  seconds            wall time of the benchmark
//	  metrics [{name, variant, unit, samples [float], n, median, min, max}]
//	}]
//
// Units are "ms", "us", "MiB", "MiB/s" and "pods/s" (higher is better; the
// others lower) and "%". A metric is identified by (result name, metric name, variant);
// Compare matches runs on that and refuses runs of different accelerators:
// TCG and KVM figures must never be mixed.
package benchmarks
