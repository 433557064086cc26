package vmtest_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/guest"
	"github.com/kite-vm/kite/internal/testing/vmtest"
)

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkGuestBoot boots the agent image and the busybox-only baseline
// (same kernel, same modules, same QEMU line) alternately, and reports the
// median time of each to "agent ready" / "baseline marker" and their ratio.
// Issue target: agent/baseline <= 1.10.
func BenchmarkGuestBoot(b *testing.B) {
	kernel, _ := vmtest.GuestPaths(b)
	dir := filepath.Dir(kernel)
	base := b.TempDir()
	m, err := guest.LoadManifest(dir)
	if err != nil {
		b.Fatal(err)
	}
	_, err = guest.Build(context.Background(), guest.BuildOptions{
		OutDir: base, CacheDir: filepath.Join(dir, "cache"), Init: guest.InitBusybox, Kernel: m.Kernel.From(),
	})
	if err != nil {
		b.Fatalf("building the baseline image: %v", err)
	}
	baseInitrd := guest.PathsIn(base).Initrd
	var agentT, baseT []time.Duration
	for b.Loop() {
		agentT = append(agentT, bootOnce(b, vmtest.Options{}))
		baseT = append(baseT, bootOnce(b, vmtest.Options{Initrd: baseInitrd, WaitMarker: guest.BaselineMarker}))
	}
	ma, mb := median(agentT), median(baseT)
	b.ReportMetric(float64(ma.Milliseconds()), "agent-ready-ms")
	b.ReportMetric(float64(mb.Milliseconds()), "baseline-ms")
	b.ReportMetric(float64(ma)/float64(mb), "ratio")
	st, _ := os.Stat(guest.PathsIn(dir).Initrd)
	b.ReportMetric(float64(st.Size())/(1<<20), "initramfs-MiB")
}

func bootOnce(b *testing.B, o vmtest.Options) time.Duration {
	vm := vmtest.Start(b, o)
	vm.Stop(b)
	return vm.BootTime
}

// BenchmarkGuestExecTrue measures ExecProcess of `true` round trips (exec,
// wait, output drained) in a running container, and the agent's RSS after
// them. Issue targets: median reported; agent RSS <= 8 MiB after 100 execs.
func BenchmarkGuestExecTrue(b *testing.B) {
	vm := bootWithRootfs(b, vmtest.Options{})
	ctx := context.Background()
	vm.Create(b, ctx, vmtest.Container{ID: "c", Args: []string{"sleep", "3600"}})
	if err := vm.Agent.StartContainer(ctx, "c"); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		ref := client.ProcessRef{ContainerID: "c", ExecID: "e" + strconv.Itoa(i)}
		start := time.Now()
		if _, err := vm.Agent.ExecProcess(ctx, ref, &protocol.Process{Args: []string{"true"}, Env: []string{"PATH=/bin"}, Cwd: "/", User: &protocol.User{}}); err != nil {
			b.Fatal(err)
		}
		if st, err := vm.Agent.WaitProcess(ctx, ref); err != nil || st.Code != 0 {
			b.Fatalf("exec %d: %+v %v", i, st, err)
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(float64(median(lat).Microseconds())/1000, "median-ms")
	d, err := vm.Agent.GuestDetails(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(d.GetAgentRssBytes())/(1<<20), "agent-rss-MiB")
	b.ReportMetric(float64(i), "execs")
}
