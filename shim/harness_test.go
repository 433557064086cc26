package shim

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/containerdtest"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// The test's containerd namespace, runtime and image.
const (
	testNamespace = "kite-test"
	testRuntime   = "io.containerd.kite.v2"
	testImage     = "docker.io/library/busybox:latest"
	pauseImage    = "docker.io/library/busybox:pause"
)

// containerdHarness is a containerd (containerdtest: Debian's 1.6, or a 1.7
// or 2.x from the module proxy) started by the test with its own config,
// root, state and socket, with the shim built from this tree on its PATH,
// the Kite config it passes to the shim (a short runtime root: socket paths
// are limited), and a local busybox image imported.
type containerdHarness struct {
	*containerdtest.Containerd
	dir, socket, kiteRoot, kiteConfig string
	namespace                         string // ctr's namespace
}

// shared is the package's one containerd, of the first release, started by
// the first test that needs it and stopped by TestMain.
var shared struct {
	once sync.Once
	h    *containerdHarness
	err  error
}

// The shim, built once for the package.
var shimBuild struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if h := shared.h; h != nil {
		h.close()
	}
	if shimBuild.dir != "" {
		os.RemoveAll(shimBuild.dir)
	}
	os.Exit(code)
}

// requireContainerd gates the test and returns the shared containerd, of
// the first release (containerdtest.Releases): the full suite runs on it,
// TestIntegrationReleases runs a subset on the others.
func requireContainerd(t *testing.T) *containerdHarness {
	t.Helper()
	rels := requireReleases(t)
	guestDir := guestDirFor(t)
	shared.once.Do(func() { shared.h, shared.err = startHarness(rels[0], guestDir, nil) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.h
}

// requireReleases gates on what the containerd tests need and returns the
// releases to test.
func requireReleases(t *testing.T) []containerdtest.Release {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "umoci", "umoci")
	testutil.RequireBinary(t, containerdtest.BusyboxPath, "busybox-static")
	testutil.RequireQEMU(t)
	if os.Getenv(containerdtest.ReleasesEnv) == "" {
		testutil.RequireBinary(t, "containerd", "containerd")
		testutil.RequireBinary(t, "ctr", "containerd")
	}
	rels, err := containerdtest.Releases()
	if err != nil {
		t.Fatal(err)
	}
	return rels
}

// guestDirFor gates on the guest image and returns its directory.
func guestDirFor(t *testing.T) string {
	t.Helper()
	guestDir := os.Getenv("KITE_TEST_GUEST_DIR")
	if guestDir == "" {
		guestDir = configs.Default().Guest.Dir
	}
	if _, err := os.Stat(filepath.Join(guestDir, "vmlinux")); err != nil {
		testutil.Skip(t, "guest image missing in "+guestDir, "make guest")
	}
	return guestDir
}

// buildShim builds containerd-shim-kite-v2 from this tree once and returns
// the directory holding it.
func buildShim() (string, error) {
	shimBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "kite-shim-bin")
		if err != nil {
			shimBuild.err = err
			return
		}
		shimBuild.dir = dir
		// kite too: the shim starts the pool's warm VMs with the kite
		// beside it.
		build := exec.Command("go", "build", "-o", dir+"/", "github.com/kite-vm/kite/cmd/containerd-shim-kite-v2", "github.com/kite-vm/kite/cmd/kite")
		if out, err := build.CombinedOutput(); err != nil {
			shimBuild.err = fmt.Errorf("building the shim and kite: %v: %s", err, out)
		}
	})
	return shimBuild.dir, shimBuild.err
}

// startHarness starts a containerd of release rel; with net, its CRI
// plugin runs with the kite runtime handler and net's bridge network,
// otherwise it is disabled.
func startHarness(rel containerdtest.Release, guestDir string, net *criNet) (*containerdHarness, error) {
	return startHarnessWith(rel, guestDir, net, "")
}

// startHarnessWith is startHarness with more of Kite's configuration
// (whole tables, after the harness's own).
func startHarnessWith(rel containerdtest.Release, guestDir string, net *criNet, extraKite string) (*containerdHarness, error) {
	binDir, err := buildShim()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kite-shim-test")
	if err != nil {
		return nil, err
	}
	h := &containerdHarness{dir: dir, kiteRoot: filepath.Join(dir, "kite"), kiteConfig: filepath.Join(dir, "kite.toml"), namespace: testNamespace}
	kite := fmt.Sprintf("[runtime]\nroot = %q\nlog_level = \"debug\"\n[hypervisor]\naccel = %q\n[guest]\ndir = %q\n",
		h.kiteRoot, testutil.Accel(), guestDir) + extraKite
	if err := os.WriteFile(h.kiteConfig, []byte(kite), 0o600); err != nil {
		return nil, err
	}
	cfg := containerdtest.Config{Dir: dir, DebugLog: true}
	if net != nil {
		if cfg.CRI, err = net.config(dir); err != nil {
			return nil, err
		}
		h.namespace = "k8s.io"
	}
	h.socket = cfg.Socket()
	env := append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"), "KITE_CONFIG="+h.kiteConfig)
	if h.Containerd, err = containerdtest.Start(context.Background(), rel, cfg, env); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := h.importImage(); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

func (h *containerdHarness) close() {
	h.Kill()
	h.killLeftovers()
	// Snapshots stay mounted after containerd died: unmount before removing.
	unmountUnder(h.dir)
	os.RemoveAll(h.dir)
}

// ctrCmd runs the release's ctr against the harness's containerd and namespace.
func (h *containerdHarness) ctrCmd(ctx context.Context, args ...string) *exec.Cmd {
	return h.Ctr(ctx, h.namespace, args...)
}

func (h *containerdHarness) ctrOutput(ctx context.Context, args ...string) (string, error) {
	out, err := h.ctrCmd(ctx, args...).CombinedOutput()
	return string(out), err
}

// ctr runs ctr and fails the test when it fails.
func (h *containerdHarness) ctr(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := h.ctrOutput(ctx, args...)
	if err != nil {
		t.Fatalf("ctr %s: %v\n%s\ncontainerd log:\n%s", strings.Join(args, " "), err, out, h.Logs())
	}
	return out
}

// importImage builds the busybox image and its pause tag (for the CRI
// plugin's sandboxes: sleep, not a shell that exits at once without input)
// and imports them.
func (h *containerdHarness) importImage() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, img := range []containerdtest.Image{
		{Ref: testImage, Populate: containerdtest.PopulateBusybox, Config: []string{"--config.cmd", "/bin/sh", "--config.env", "PATH=/bin"}},
		{Ref: pauseImage, Populate: containerdtest.PopulateBusybox, Config: []string{"--config.cmd", "/bin/sleep", "--config.cmd", "1000000", "--config.env", "PATH=/bin"}},
	} {
		archive, err := containerdtest.BuildImage(ctx, h.dir, img)
		if err != nil {
			return err
		}
		if err := h.Import(ctx, h.namespace, archive, img.Ref); err != nil {
			return err
		}
	}
	return nil
}
