package critest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/internal/testing/containerdtest"
)

// Options is one comparison run.
type Options struct {
	Critest  string                 // the critest binary
	Release  containerdtest.Release // the containerd to run
	ShimDir  string                 // the directory holding containerd-shim-kite-v2
	GuestDir string                 // Kite's guest image
	Accel    string                 // QEMU accelerator for Kite
	Cache    string                 // where Debian's nginx package is kept
	Work     string                 // a fresh directory for containerd, images, reports
	Handlers []string               // runtime handlers to run critest with, in order: "runc", "kite"
	Focus    string                 // ginkgo focus expression ("" runs every spec)
	Log      io.Writer              // progress and critest's output
	// Bridge and Subnet are the pod network's bridge (created by the CNI
	// plugin, removed by Run) and subnet.
	Bridge, Subnet string
}

// Result is critest's outcome with one runtime handler.
type Result struct {
	Handler  string
	Specs    []Spec
	Duration time.Duration
}

// Handlers known to Run and their containerd runtime types.
var runtimeTypes = map[string]string{"runc": "io.containerd.runc.v2", "kite": "io.containerd.kite.v2"}

// Run starts a containerd of o.Release with both handlers and the bridge
// CNI, imports the images, and runs critest once per handler.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if err := checkBridgeAbsent(o.Bridge); err != nil {
		return nil, err
	}
	cri, err := o.criConfig()
	if err != nil {
		return nil, err
	}
	kiteConfig := filepath.Join(o.Work, "kite.toml")
	// A guest boots in 3 to 5 s under TCG; on a loaded two-core machine the
	// 30 s default dial timeout of the agent was seen to run out.
	kite := fmt.Sprintf("[runtime]\nroot = %q\n[hypervisor]\naccel = %q\n[guest]\ndir = %q\n[agent]\ndial_timeout = \"90s\"\n",
		filepath.Join(o.Work, "kite"), o.Accel, o.GuestDir)
	if err := os.WriteFile(kiteConfig, []byte(kite), 0o600); err != nil {
		return nil, err
	}
	env := append(os.Environ(), "PATH="+o.ShimDir+":"+os.Getenv("PATH"), "KITE_CONFIG="+kiteConfig)
	c, err := containerdtest.Start(ctx, o.Release, containerdtest.Config{Dir: filepath.Join(o.Work, "containerd"), CRI: cri}, env)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := removePods(context.WithoutCancel(ctx), c.Config.Socket()); err != nil {
			fmt.Fprintf(o.Log, "critest: %v\n", err)
		}
		c.Kill()
		if err := removeBridge(o.Bridge); err != nil {
			fmt.Fprintf(o.Log, "critest: %v\n", err)
		}
	}()
	if err := o.importImages(ctx, c); err != nil {
		return nil, err
	}
	var results []Result
	for _, h := range o.Handlers {
		r, err := o.runHandler(ctx, c, h)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	return results, nil
}

func (o Options) criConfig() (*containerdtest.CRI, error) {
	cri := &containerdtest.CRI{SandboxImage: PauseImage, CNIBinDir: "/usr/lib/cni", CNIConfDir: filepath.Join(o.Work, "cni")}
	for _, h := range o.Handlers {
		t, ok := runtimeTypes[h]
		if !ok {
			return nil, fmt.Errorf("runtime handler %q: want runc or kite", h)
		}
		// Kite's handler as docs/containerd.md configures it.
		cri.Runtimes = append(cri.Runtimes, containerdtest.Runtime{Name: h, Type: t, PrivilegedWithoutHostDevices: h == "kite"})
	}
	if len(cri.Runtimes) == 0 {
		return nil, fmt.Errorf("no runtime handler to run critest with")
	}
	cri.DefaultRuntime = cri.Runtimes[0].Name
	// portmap gives the host-port specs their DNAT (iptables).
	conf := fmt.Sprintf(`{"cniVersion": "0.4.0", "name": "kite-critest", "plugins": [
  {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "subnet": %q, "dataDir": %q, "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}},
  {"type": "loopback"}]}`, o.Bridge, o.Subnet, filepath.Join(o.Work, "ipam"))
	if err := os.MkdirAll(cri.CNIConfDir, 0o755); err != nil {
		return nil, err
	}
	return cri, os.WriteFile(filepath.Join(cri.CNIConfDir, "10-kite-critest.conflist"), []byte(conf), 0o644)
}

func (o Options) importImages(ctx context.Context, c *containerdtest.Containerd) error {
	start := time.Now()
	var src Sources
	var err error
	if src.NginxDeb, err = DebianPackage(ctx, o.Cache, "nginx"); err != nil {
		return err
	}
	if src.BusyboxDeb, err = DebianPackage(ctx, o.Cache, "busybox"); err != nil {
		return err
	}
	if src.NNP, err = BuildNNP(ctx, o.Work); err != nil {
		return err
	}
	for _, img := range Images(src) {
		archive, err := containerdtest.BuildImage(ctx, o.Work, img)
		if err != nil {
			return err
		}
		if err := c.Import(ctx, "k8s.io", archive, img.Ref); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Log, "critest: images built and imported in %v\n", time.Since(start).Round(time.Second))
	return nil
}

func (o Options) runHandler(ctx context.Context, c *containerdtest.Containerd, handler string) (Result, error) {
	report := filepath.Join(o.Work, "report-"+handler+".json")
	sock := "unix://" + c.Config.Socket()
	args := []string{"-runtime-endpoint", sock, "-image-endpoint", sock, "-runtime-handler", handler,
		"-ginkgo.skip", SkipPattern(), "-ginkgo.json-report", report, "-ginkgo.no-color", "-ginkgo.timeout", "2h"}
	if o.Focus != "" {
		args = append(args, "-ginkgo.focus", o.Focus)
	}
	fmt.Fprintf(o.Log, "critest: runtime handler %s, containerd %s\n", handler, c.Release.Version)
	cmd := exec.CommandContext(ctx, o.Critest, args...)
	cmd.Dir = o.Work // critest writes nothing there, but reads a crictl.yaml it may find
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	start := time.Now()
	err := cmd.Run()
	r := Result{Handler: handler, Duration: time.Since(start)}
	if _, ok := err.(*exec.ExitError); err != nil && !ok { // a failing spec exits 1: the report says which
		return r, fmt.Errorf("running critest: %w", err)
	}
	specs, rerr := ReadReport(report)
	if rerr != nil {
		return r, fmt.Errorf("critest with %s (%v): %w", handler, err, rerr)
	}
	r.Specs = specs
	return r, nil
}
