package sandbox_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/vm"
)

// Benchmarks of VM templates against booted warm VMs (run them one at a
// time, with -benchtime=Nx; docs/templates.md quotes them):
//
//	go test ./sandbox -run '^$' -bench 'TemplateStart' -benchtime=5x
//	go test ./sandbox -run '^$' -bench 'TemplatePSS' -benchtime=1x

// warmMaker starts a warm VM in slot id of root: booted or cloned.
type warmMaker func(b *testing.B, root, id string) *sandbox.Warm

func warmMakers(b *testing.B) (root string, makers map[string]warmMaker, tpl *sandbox.Template) {
	// integrationConfig's, for a benchmark.
	testutil.RequireRoot(b)
	kernel, initrd := vmtest.GuestPaths(b)
	cfg := configs.Default()
	cfg.Hypervisor.Path = testutil.RequireQEMU(b)
	cfg.Hypervisor.MemoryMiB = 256
	cfg.Guest.Dir = filepath.Dir(kernel)
	cfg.Guest.Kernel, cfg.Guest.Initrd = kernel, initrd
	cfg.Agent.DialTimeout = configs.Duration(90 * time.Second)
	host := vm.DetectHost("")
	host.Accel = qemu.AccelType(testutil.Accel())
	root, err := os.MkdirTemp("", "kite-sb-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(root) })
	cfg.Runtime.Root = root
	start := func(id string) (sandbox.Config, error) {
		slot := filepath.Join(root, "pool", id)
		return sandbox.Config{ID: id, Dir: slot, Config: cfg, Host: &host, Root: root}, os.MkdirAll(slot, 0o700)
	}
	tpl, err = sandbox.EnsureTemplate(b.Context(), sandbox.Config{Config: cfg, Host: &host, Root: root}, filepath.Join(root, "pool", "templates"))
	if err != nil {
		b.Fatalf("EnsureTemplate: %v", err)
	}
	makers = map[string]warmMaker{
		"cold": func(b *testing.B, root, id string) *sandbox.Warm {
			sc, err := start(id)
			if err == nil {
				var w *sandbox.Warm
				if w, err = sandbox.BootWarm(b.Context(), sc); err == nil {
					return w
				}
			}
			b.Fatalf("BootWarm: %v", err)
			return nil
		},
		"clone": func(b *testing.B, root, id string) *sandbox.Warm {
			sc, err := start(id)
			if err == nil {
				var w *sandbox.Warm
				if w, err = sandbox.CloneWarm(b.Context(), sc, tpl); err == nil {
					return w
				}
			}
			b.Fatalf("CloneWarm: %v", err)
			return nil
		},
	}
	return root, makers, tpl
}

// BenchmarkIntegrationTemplateStart: a warm VM to a ready agent, booted
// (cold) or restored from a template (clone), alternately; the medians are
// reported as agent-ready-ms (the VM's own timing, from QEMU's start) and
// warm-ms (the whole BootWarm or CloneWarm), and the template's save.
func BenchmarkIntegrationTemplateStart(b *testing.B) {
	root, makers, tpl := warmMakers(b)
	b.Logf("template: %+v", tpl.Info())
	ready := map[string][]float64{}
	total := map[string][]float64{}
	n := 0
	for b.Loop() {
		for _, mode := range []string{"cold", "clone"} {
			n++
			start := time.Now()
			w := makers[mode](b, root, "warm-"+strconv.Itoa(n))
			total[mode] = append(total[mode], ms(time.Since(start)))
			ready[mode] = append(ready[mode], ms(w.VMTimings().AgentReady))
			w.Stop()
		}
	}
	for mode := range makers {
		b.ReportMetric(median(ready[mode]), mode+"-agent-ready-ms")
		b.ReportMetric(median(total[mode]), mode+"-warm-ms")
		b.Logf("%s: agent ready %v ms, warm VM %v ms", mode, ready[mode], total[mode])
	}
	b.ReportMetric(ms(tpl.Info().Save.Save), "template-save-ms")
	b.ReportMetric(ms(tpl.Info().Save.Quiesce), "template-quiesce-ms")
}

// BenchmarkIntegrationTemplatePSS: the PSS of N idle warm VMs' QEMU, per
// VM, booted or cloned (the PSS splits the pages they share).
func BenchmarkIntegrationTemplatePSS(b *testing.B) {
	root, makers, tpl := warmMakers(b)
	// The template's own RAM file: on tmpfs, memory no clone's PSS counts
	// but the pages they share.
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(tpl.Info().Dir, vm.TemplateRAMName), &st); err != nil {
		b.Fatal(err)
	}
	b.Logf("template RAM file: %d MiB allocated of %d MiB", st.Blocks*512>>20, st.Size>>20)
	for _, mode := range []string{"cold", "clone"} {
		for _, n := range []int{1, 4, 8} {
			b.Run(fmt.Sprintf("%s/N=%d", mode, n), func(b *testing.B) {
				for b.Loop() {
					var ws []*sandbox.Warm
					for i := range n {
						ws = append(ws, makers[mode](b, root, fmt.Sprintf("%s-%d-%d", mode, n, i)))
					}
					time.Sleep(10 * time.Second) // idle: the guests settle
					var kib int64
					for _, w := range ws {
						kib += qemuPSS(b, w.Pids()[0])
					}
					b.ReportMetric(float64(kib)/1024/float64(n), "PSS-MiB/vm")
					for _, w := range ws {
						w.Stop()
					}
				}
			})
		}
	}
}

func qemuPSS(b *testing.B, pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "Pss:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kib
		}
	}
	b.Fatalf("no Pss in smaps_rollup of %d", pid)
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
