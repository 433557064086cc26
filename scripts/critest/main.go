// Command critest runs the CRI validation suite (critest) against
// containerd's CRI plugin with the runc and kite runtime handlers, and
// prints both counts and the specs that pass with runc and fail with Kite
// (`make critest`). See docs/critest.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kite-vm/kite/internal/mountinfo"
	"github.com/kite-vm/kite/internal/testing/containerdtest"
	"github.com/kite-vm/kite/internal/testing/critest"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

func main() {
	var o critest.Options
	var containerd, handlers string
	var strict, keep bool
	flag.StringVar(&o.Critest, "critest", "", "the critest binary (scripts/build-critest.sh prints it)")
	flag.StringVar(&containerd, "containerd", "", "directory of the containerd and ctr to run (default: PATH's)")
	flag.StringVar(&o.GuestDir, "guest", "/var/lib/kite/guest", "Kite's guest image directory")
	flag.StringVar(&o.Cache, "cache", "/var/lib/kite/critest/debs", "where Debian's nginx package is kept")
	flag.StringVar(&handlers, "handlers", "runc,kite", "runtime handlers, the baseline first")
	flag.StringVar(&o.Focus, "focus", "", "ginkgo focus expression: run only the matching specs")
	flag.StringVar(&o.Bridge, "bridge", "kitecrit0", "the pod network's bridge")
	flag.StringVar(&o.Subnet, "subnet", "10.88.90.0/24", "the pod network's subnet")
	flag.BoolVar(&strict, "strict", false, "exit 1 when a spec passes with the baseline and fails with another handler")
	flag.BoolVar(&keep, "keep", false, "keep the work directory (reports, containerd's log)")
	flag.Parse()
	if err := run(o, containerd, handlers, strict, keep); err != nil {
		fmt.Fprintln(os.Stderr, "critest:", err)
		os.Exit(1)
	}
}

func run(o critest.Options, containerd, handlers string, strict, keep bool) error {
	if o.Critest == "" {
		return fmt.Errorf("-critest is required (scripts/build-critest.sh v1.37.0 builds it)")
	}
	o.Handlers = strings.Split(handlers, ",")
	o.Accel, o.Log = testutil.Accel(), os.Stdout
	if containerd == "" {
		p, err := exec.LookPath("containerd")
		if err != nil {
			return fmt.Errorf("no containerd on PATH (apt-get install containerd, or -containerd DIR)")
		}
		containerd = filepath.Dir(p)
	}
	var err error
	if o.Release, err = containerdtest.Probe(containerd); err != nil {
		return err
	}
	if o.Work, err = os.MkdirTemp("", "kite-critest"); err != nil {
		return err
	}
	defer func() {
		unmountUnder(o.Work)
		if keep {
			fmt.Println("critest: work directory kept:", o.Work)
		} else {
			os.RemoveAll(o.Work)
		}
	}()
	o.ShimDir = filepath.Join(o.Work, "bin")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(o.ShimDir, "containerd-shim-kite-v2"), "github.com/kite-vm/kite/cmd/containerd-shim-kite-v2").CombinedOutput(); err != nil {
		return fmt.Errorf("building the shim: %w: %s", err, out)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	results, err := critest.Run(ctx, o)
	report(o, results, time.Since(start))
	if err != nil {
		return err
	}
	if strict && len(results) > 1 && regressions(results) > 0 {
		return fmt.Errorf("specs pass with %s and fail with another handler", results[0].Handler)
	}
	return nil
}

// report prints each handler's counts and what passes with the first
// handler (the baseline) and not with the others.
func report(o critest.Options, results []critest.Result, total time.Duration) {
	fmt.Printf("\ncritest %s on containerd %s, %v in all\n", filepath.Base(filepath.Dir(o.Critest)), o.Release.Version, total.Round(time.Second))
	fmt.Println("skipped, needing a registry:")
	for _, s := range critest.RegistrySpecs {
		fmt.Printf("  %s: %s\n", strings.ReplaceAll(s.Pattern, `\`, ""), s.Reason)
	}
	for _, r := range results {
		fmt.Printf("%s: %v in %v\n", r.Handler, critest.Count(r.Specs), r.Duration.Round(time.Second))
	}
	for _, r := range results[min(1, len(results)):] {
		regs := critest.Regressions(results[0].Specs, r.Specs)
		fmt.Printf("pass with %s, fail with %s (%d):\n", results[0].Handler, r.Handler, len(regs))
		for _, s := range regs {
			msg, _, _ := strings.Cut(strings.TrimSpace(s.Failure), "\n")
			fmt.Printf("  %s [%s] %s\n", s.Name, s.State, msg)
		}
	}
}

func regressions(results []critest.Result) int {
	n := 0
	for _, r := range results[1:] {
		n += len(critest.Regressions(results[0].Specs, r.Specs))
	}
	return n
}

// unmountUnder unmounts what containerd left mounted under dir, deepest first.
func unmountUnder(dir string) {
	mounts, err := mountinfo.Read("/proc/self/mountinfo")
	if err != nil {
		return
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		if mp := mounts[i].Target; mp == dir || strings.HasPrefix(mp, dir+"/") {
			syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	}
}
