package benchmarks

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/vm"
)

// fakeBench is a benchmark whose behaviour the test scripts: it records its
// repeat index as a sample, fails or cancels at a given repeat.
type fakeBench struct {
	name     string
	setupErr error
	failAt   int // 1-based recorded repeat that fails; 0 never
	cancelAt int // 1-based recorded repeat that cancels the run
	cancel   context.CancelFunc
	closeErr error
	closed   *int
}

func (f *fakeBench) Name() string     { return f.name }
func (f *fakeBench) Title() string    { return "fake " + f.name }
func (f *fakeBench) Baseline() string { return "base" }
func (f *fakeBench) Setup(context.Context, Env) (Trial, error) {
	if f.setupErr != nil {
		return nil, f.setupErr
	}
	return &fakeTrial{f}, nil
}

type fakeTrial struct{ f *fakeBench }

func (t *fakeTrial) Notes() []string { return []string{"note"} }
func (t *fakeTrial) Close(context.Context) error {
	*t.f.closed++
	return t.f.closeErr
}
func (t *fakeTrial) Repeat(ctx context.Context, rec *Recorder) error {
	i := rec.Repeat + 1
	if t.f.failAt > 0 && i == t.f.failAt {
		return errors.New("boom")
	}
	if t.f.cancelAt > 0 && i == t.f.cancelAt {
		t.f.cancel()
		return ctx.Err()
	}
	rec.Add("m", "kite", Millis, float64(rec.Repeat))
	rec.Add("m", "base", Millis, 1)
	return nil
}

// cappedBench caps its repeats through the Repeats ability.
type cappedBench struct{ fakeBench }

func (c *cappedBench) Repeats(Options) (int, int) { return 0, 1 }

func TestRunner(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	closed := 0
	bs := []Benchmark{
		&fakeBench{name: "ok", closed: &closed},
		&fakeBench{name: "skip", setupErr: skip("no DPDK (apt-get install dpdk)"), closed: &closed},
		&fakeBench{name: "setupfail", setupErr: errors.New("no disk"), closed: &closed},
		&fakeBench{name: "fail", failAt: 2, closed: &closed},
		&fakeBench{name: "dirty", closeErr: errors.New("qemu still running"), closed: &closed},
		&cappedBench{fakeBench{name: "capped", closed: &closed}},
		&fakeBench{name: "cut", cancelAt: 2, cancel: cancel, closed: &closed},
		&fakeBench{name: "after", closed: &closed},
	}
	var progress bytes.Buffer
	r := Runner{Options: Options{Repeat: 3, Warmup: 1}, Machine: Machine{Accel: "tcg"}, Progress: &progress}
	run := r.Run(ctx, bs, "v-test")

	type outcome struct {
		Name    string
		Status  Status
		Reason  string
		Samples []float64 // of m/kite
	}
	var got []outcome
	for _, res := range run.Results {
		if res.Status != StatusInterrupted && res.Seconds <= 0 {
			t.Errorf("%s: Seconds = %v", res.Name, res.Seconds)
		}
		o := outcome{Name: res.Name, Status: res.Status, Reason: res.Reason}
		for _, m := range res.Metrics {
			if m.Variant == "kite" {
				o.Samples = m.Samples
			}
		}
		got = append(got, o)
	}
	want := []outcome{
		{"ok", StatusOK, "", []float64{0, 1, 2}}, // the warm-up's sample is not kept
		{"skip", StatusSkipped, "no DPDK (apt-get install dpdk)", nil},
		{"setupfail", StatusFailed, "no disk", nil},
		{"fail", StatusFailed, "repeat 2: boom", []float64{0}},
		{"dirty", StatusFailed, "cleaning up: qemu still running", []float64{0, 1, 2}},
		{"capped", StatusOK, "", []float64{0}},
		{"cut", StatusInterrupted, "repeat 2: context canceled", []float64{0}},
		{"after", StatusInterrupted, "not run: the run was interrupted", nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if !run.Interrupted || run.Schema != SchemaVersion || run.KiteVersion != "v-test" || run.Machine.Accel != "tcg" {
		t.Errorf("run header = %+v", run)
	}
	// Every trial that was set up is closed, the interrupted one included.
	if closed != 5 {
		t.Errorf("%d trials closed, want 5", closed)
	}
	for _, line := range []string{"ok         warm-up 1/1", "ok         repeat 3/3", "skip       skipped: no DPDK", "m[kite]=2.00ms"} {
		if !strings.Contains(progress.String(), line) {
			t.Errorf("progress lacks %q:\n%s", line, progress.String())
		}
	}
}

// peersBench runs three peers through peerRuns; "bad" fails at its second
// measurement, or "all" of them fail at once.
type peersBench struct {
	allFail bool
	runs    map[string]int
}

func (b *peersBench) Name() string     { return "peers" }
func (b *peersBench) Title() string    { return "fake peers" }
func (b *peersBench) Baseline() string { return "runc" }
func (b *peersBench) Setup(context.Context, Env) (Trial, error) {
	t := &peersTrial{b: b}
	for _, n := range []string{"kite", "bad", "runc"} {
		t.peers = append(t.peers, &peer{name: n, kind: kindOCI})
	}
	return t, nil
}

type peersTrial struct {
	peerRuns
	b *peersBench
}

func (t *peersTrial) Notes() []string             { return nil }
func (t *peersTrial) Close(context.Context) error { return nil }
func (t *peersTrial) Repeat(ctx context.Context, rec *Recorder) error {
	return t.each(ctx, rec.Repeat, func(p *peer) error {
		t.b.runs[p.name]++
		if t.b.allFail || p.name == "bad" && t.b.runs[p.name] == 2 {
			return errors.New("broke")
		}
		rec.Add("m", p.name, Millis, 1)
		return nil
	})
}

// TestRunnerPeerFailsAlone: a peer that fails is left out of the later
// repeats, the others are measured every time, and the benchmark fails
// naming the peer; when every peer fails, the repeat fails.
func TestRunnerPeerFailsAlone(t *testing.T) {
	b := &peersBench{runs: map[string]int{}}
	run := Runner{Options: Options{Repeat: 3, Warmup: 1}, Env: Env{Host: &vm.Host{}}}.Run(context.Background(), []Benchmark{b}, "test")
	res := run.Results[0]
	if res.Status != StatusFailed || res.Reason != "bad: broke" {
		t.Errorf("status %s, reason %q; want failed, \"bad: broke\"", res.Status, res.Reason)
	}
	if diff := cmp.Diff(map[string]int{"kite": 4, "bad": 2, "runc": 4}, b.runs); diff != "" {
		t.Errorf("measurements per peer (-want +got):\n%s", diff)
	}
	got := map[string]int{}
	for _, m := range res.Metrics {
		got[m.Variant] = m.N
	}
	if diff := cmp.Diff(map[string]int{"kite": 3, "runc": 3}, got); diff != "" {
		t.Errorf("samples per variant (-want +got):\n%s", diff)
	}

	all := &peersBench{allFail: true, runs: map[string]int{}}
	res = Runner{Options: Options{Repeat: 2}, Env: Env{Host: &vm.Host{}}}.Run(context.Background(), []Benchmark{all}, "test").Results[0]
	if res.Status != StatusFailed || !strings.Contains(res.Reason, "repeat 2: kite: broke") {
		t.Errorf("every peer failing: status %s, reason %q", res.Status, res.Reason)
	}
}
