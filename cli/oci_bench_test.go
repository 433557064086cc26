package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
	"github.com/kite-vm/kite/vm/attach"
)

// BenchmarkRunVsBoot measures `kite run` of `true` in a busybox bundle
// against the same VM (the plan of the same configuration, with the same
// root file system share) booting to agent-ready, alternately, and reports
// the median of each and their ratio (target: run ≤ 1.10 × boot). Under
// TCG the size of QEMU's translation cache matters to the guest's work
// after boot: it runs with the default configuration's and with QEMU's own.
func BenchmarkRunVsBoot(b *testing.B) {
	for _, tb := range []string{"32", "0"} {
		b.Run("tcg_tb_size_mib="+tb, func(b *testing.B) {
			benchRunVsBoot(b, "tcg_tb_size_mib = "+tb+"\n")
		})
	}
}

func benchRunVsBoot(b *testing.B, extraTOML string) {
	e := newOCIEnv(b, extraTOML)
	bundle := e.bundle([]string{"true"}, nil)
	data, err := os.ReadFile(e.config)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := configs.Parse(e.config, data)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := spec.Load(bundle)
	if err != nil {
		b.Fatal(err)
	}
	rootfs := spec.RootfsPath(bundle, raw.Root.Path)
	var runs, boots []time.Duration
	b.ResetTimer()
	for i := range b.N {
		id := "b" + strconv.Itoa(i)
		start := time.Now()
		if code, _, errOut := e.kite("run", "--bundle", bundle, id); code != 0 {
			b.Fatalf("kite run = %d: %s", code, errOut)
		}
		runs = append(runs, time.Since(start))
		boots = append(boots, bootToAgentReady(b, cfg, e.root, "boot"+id, rootfs))
	}
	b.StopTimer()
	run, boot := median(runs), median(boots)
	b.ReportMetric(float64(run.Milliseconds()), "run-ms")
	b.ReportMetric(float64(boot.Milliseconds()), "boot-ms")
	b.ReportMetric(float64(run)/float64(boot), "run/boot")
	b.Logf("kite run: median %v of %v; boot to agent-ready: median %v of %v", run, runs, boot, boots)
}

// bootToAgentReady boots the VM kite run boots and returns how long it
// took to answer; the VM is then stopped, untimed.
func bootToAgentReady(b *testing.B, cfg *configs.Config, root, id, rootfs string) time.Duration {
	b.Helper()
	dir := filepath.Join(root, id)
	share, err := fsshare.NewShare(cfg.SharedFS, dir, "share0", "rootfs", rootfs, false)
	if err != nil {
		b.Fatal(err)
	}
	plan, err := vm.PlanMachine(cfg, vm.Input{ID: id, Dir: dir, Host: vm.DetectHost(""), Attachments: []attach.Attachment{share}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := vm.Boot(ctx, plan)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Stop(ctx)
	return m.Timings().AgentReady
}

// BenchmarkSandboxProcessRSS reports the resident size of an idle sandbox
// process (target ≤ 15 MiB). In tests the sandbox process is the test
// binary, somewhat larger than kite.
func BenchmarkSandboxProcessRSS(b *testing.B) {
	e := newOCIEnv(b, "")
	bundle := e.bundle([]string{"sleep", "1000"}, nil)
	var rss []int
	for i := range b.N {
		id := "rss" + strconv.Itoa(i)
		e.mustKite("run", "--detach", "--bundle", bundle, id)
		time.Sleep(2 * time.Second) // idle
		rss = append(rss, vmRSSKiB(b, e.recorded(id).Pid))
		e.mustKite("delete", "--force", id)
	}
	slices.Sort(rss)
	b.ReportMetric(float64(rss[len(rss)/2])/1024, "rss-MiB")
}

func vmRSSKiB(b *testing.B, pid int) int {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
