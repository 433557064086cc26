package sandbox

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/internal/testing/sriovtest"
	"github.com/kite-vm/kite/internal/testing/testhost"
	"github.com/kite-vm/kite/netmodels"
	"github.com/kite-vm/kite/vfio"
)

// vfRounds is how many times BenchmarkTestHostVFHostSide passes each VF
// through and back: the medians are reported.
const vfRounds = 5

// BenchmarkTestHostVFHostSide measures, in a test host with real SR-IOV
// functions, the host side of passthrough: an NVMe VF bound to vfio-pci
// and given back to nvme, and an igb VF netdev of a pod netns passed
// through (its admin MAC set through the PF, the function bound to
// vfio-pci) and given back (igbvf again, its netdev rebuilt in the pod
// netns). Medians of vfRounds each, in milliseconds. Run it with
// -run '^$' -bench TestHostVFHostSide -benchtime 1x.
func BenchmarkTestHostVFHostSide(b *testing.B) {
	if !testhost.Inside() {
		res := testhost.Run(b, testhost.Options{IGB: true})
		for unit, v := range testhost.BenchMetrics(res.Output, "BenchmarkTestHostVFHostSide-") {
			b.ReportMetric(v, unit)
		}
		return
	}
	const root = "/sys"
	var bind, giveBack, pass, back []time.Duration
	for range b.N {
		nvme := sriovtest.NVMeVFs(b, root, 1)[0]
		for range vfRounds {
			start := time.Now()
			r, err := vfio.Bind(vfio.Sysfs{}, root, nvme)
			if err != nil {
				b.Fatal(err)
			}
			bind = append(bind, time.Since(start))
			start = time.Now()
			if err := r.Apply(vfio.Sysfs{}, root); err != nil {
				b.Fatal(err)
			}
			giveBack = append(giveBack, time.Since(start))
		}
		p, a := vfNetdevPassthrough(b, root)
		for range vfRounds {
			d1, d2 := p(a())
			pass, back = append(pass, d1), append(back, d2)
		}
	}
	b.ReportMetric(medianMs(bind), "nvme-vf-bind-ms")
	b.ReportMetric(medianMs(giveBack), "nvme-vf-giveback-ms")
	b.ReportMetric(medianMs(pass), "netdev-vf-passthrough-ms")
	b.ReportMetric(medianMs(back), "netdev-vf-giveback-ms")
}

// vfNetdevPassthrough readies an igb VF netdev in a pod netns, as the
// SR-IOV CNI leaves it, and returns a function that passes it through and
// gives it back once, timing both, with the planner of each round.
func vfNetdevPassthrough(b *testing.B, root string) (func(*netmodels.Physical) (time.Duration, time.Duration), func() *netmodels.Physical) {
	mac, _ := net.ParseMAC("02:4b:69:74:65:0b")
	_, podPath := vfInPod(b, root, "kite-pod-vfb", mac)
	ctx := context.Background()
	run := func(p *netmodels.Physical) (time.Duration, time.Duration) {
		var host cleanup.Stack
		start := time.Now()
		if _, err := p.Attach(ctx, &host); err != nil {
			b.Fatal(err)
		}
		passed := time.Since(start)
		start = time.Now()
		if err := host.CleanCtx(ctx); err != nil {
			b.Fatal(err)
		}
		return passed, time.Since(start)
	}
	return run, func() *netmodels.Physical { return planPhysical(b, root, podPath) }
}

func medianMs(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2].Microseconds()) / 1000
}
