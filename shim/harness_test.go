package shim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// The test's containerd namespace, runtime and image.
const (
	testNamespace = "kite-test"
	testRuntime   = "io.containerd.kite.v2"
	testImage     = "docker.io/library/busybox:latest"
)

// containerdHarness is a Debian containerd 1.6 started by the test with its
// own config, root, state and socket, with the shim built from this tree on
// its PATH, the Kite config it passes to the shim (a short runtime root:
// socket paths are limited), and a local busybox image imported.
type containerdHarness struct {
	dir, socket, kiteRoot, kiteConfig string
	namespace                         string // ctr's namespace
	env                               []string
	cmd                               *exec.Cmd
	exited                            chan struct{}
	log                               *bytes.Buffer
	logMu                             *sync.Mutex
}

// shared is the package's one containerd, started by the first test that
// needs it and stopped by TestMain.
var shared struct {
	once sync.Once
	h    *containerdHarness
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if h := shared.h; h != nil {
		h.close()
	}
	os.Exit(code)
}

// requireContainerd gates the test and returns the shared containerd.
func requireContainerd(t *testing.T) *containerdHarness {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireBinary(t, "containerd", "containerd")
	testutil.RequireBinary(t, "ctr", "containerd")
	testutil.RequireBinary(t, "umoci", "umoci")
	testutil.RequireBinary(t, "busybox", "busybox-static")
	testutil.RequireQEMU(t)
	guestDir := guestDirFor(t)
	shared.once.Do(func() { shared.h, shared.err = startHarness(guestDir, nil) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.h
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

// startHarness starts a containerd; criConfig, when set, is given the
// harness directory and returns the CRI plugin's configuration, which is
// otherwise disabled.
func startHarness(guestDir string, criConfig func(dir string) string) (*containerdHarness, error) {
	dir, err := os.MkdirTemp("", "kite-shim-test")
	if err != nil {
		return nil, err
	}
	h := &containerdHarness{dir: dir, socket: filepath.Join(dir, "c.sock"), kiteRoot: filepath.Join(dir, "kite"),
		kiteConfig: filepath.Join(dir, "kite.toml"), namespace: testNamespace, log: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	binDir := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", filepath.Join(binDir, "containerd-shim-kite-v2"), "github.com/kite-vm/kite/cmd/containerd-shim-kite-v2")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the shim: %v: %s", err, out)
	}
	kite := fmt.Sprintf("[runtime]\nroot = %q\nlog_level = \"debug\"\n[hypervisor]\naccel = %q\n[guest]\ndir = %q\n",
		h.kiteRoot, testutil.Accel(), guestDir)
	if err := os.WriteFile(h.kiteConfig, []byte(kite), 0o600); err != nil {
		return nil, err
	}
	disabled, cri := `"io.containerd.grpc.v1.cri", `, ""
	if criConfig != nil {
		disabled, cri, h.namespace = "", criConfig(dir), "k8s.io"
	}
	config := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = [%s"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = %q
[debug]
  level = "debug"
%s`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), disabled, h.socket, cri)
	if err := os.WriteFile(filepath.Join(dir, "containerd.toml"), []byte(config), 0o600); err != nil {
		return nil, err
	}
	h.env = append(os.Environ(), "PATH="+binDir+":"+os.Getenv("PATH"), "KITE_CONFIG="+h.kiteConfig)
	if err := h.startContainerd(); err != nil {
		return nil, err
	}
	if err := h.importImage(); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// startContainerd starts containerd and waits for it to answer.
func (h *containerdHarness) startContainerd() error {
	cmd := exec.Command("containerd", "--config", filepath.Join(h.dir, "containerd.toml"))
	cmd.Env = h.env
	cmd.Stdout, cmd.Stderr = h.logWriter(), h.logWriter()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting containerd: %w", err)
	}
	h.cmd, h.exited = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(h.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := h.ctrOutput(context.Background(), "version"); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("containerd did not answer: %s", h.logs())
}

// killContainerd kills containerd (not its shims) and waits for it.
func (h *containerdHarness) killContainerd() {
	h.cmd.Process.Kill()
	<-h.exited
}

func (h *containerdHarness) close() {
	h.killContainerd()
	h.killLeftovers()
	// Snapshots stay mounted after containerd died: unmount before removing.
	unmountUnder(h.dir)
	os.RemoveAll(h.dir)
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (h *containerdHarness) logWriter() lockedWriter { return lockedWriter{h.logMu, h.log} }

func (h *containerdHarness) logs() string {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	s := h.log.String()
	if len(s) > 8000 {
		s = s[len(s)-8000:]
	}
	return s
}

// ctr runs ctr against the harness's containerd and namespace.
func (h *containerdHarness) ctrCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", h.socket, "--namespace", h.namespace}, args...)...)
	cmd.Env = h.env
	return cmd
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
		t.Fatalf("ctr %s: %v\n%s\ncontainerd log:\n%s", strings.Join(args, " "), err, out, h.logs())
	}
	return out
}

// importImage builds a busybox OCI image with umoci and imports it.
func (h *containerdHarness) importImage() error {
	layout, bundle := filepath.Join(h.dir, "oci"), filepath.Join(h.dir, "img-bundle")
	steps := [][]string{
		{"umoci", "init", "--layout", layout},
		{"umoci", "new", "--image", layout + ":latest"},
		{"umoci", "unpack", "--image", layout + ":latest", bundle},
	}
	if err := runAll(steps); err != nil {
		return err
	}
	if err := populateBusybox(filepath.Join(bundle, "rootfs")); err != nil {
		return err
	}
	steps = [][]string{
		{"umoci", "repack", "--image", layout + ":latest", bundle},
		{"umoci", "config", "--image", layout + ":latest", "--config.cmd", "/bin/sh", "--config.env", "PATH=/bin"},
		// A pause image for the CRI plugin's sandboxes: sleep, not a shell
		// that exits at once without input.
		{"umoci", "config", "--image", layout + ":latest", "--tag", "pause", "--config.cmd", "/bin/sleep", "--config.cmd", "1000000"},
		{"tar", "-C", layout, "-cf", filepath.Join(h.dir, "busybox.tar"), "."},
	}
	if err := runAll(steps); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := h.ctrOutput(ctx, "images", "import", "--base-name", "docker.io/library/busybox", filepath.Join(h.dir, "busybox.tar")); err != nil {
		return fmt.Errorf("importing the image: %v: %s", err, out)
	}
	os.RemoveAll(bundle)
	return nil
}

// populateBusybox puts busybox-static and the applets the tests use in a
// root file system.
func populateBusybox(rootfs string) error {
	bin := filepath.Join(rootfs, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	for _, d := range []string{"proc", "sys", "dev", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, a := range []string{"sh", "echo", "sleep", "cat", "ls", "true", "false", "tty", "hostname", "ps", "kill", "id", "head", "wc", "nc", "ip", "ifconfig", "stty", "mount"} {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil {
			return err
		}
	}
	return nil
}

func runAll(steps [][]string) error {
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(s, " "), err, out)
		}
	}
	return nil
}
