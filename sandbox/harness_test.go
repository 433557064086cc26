package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/mountinfo"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// integrationConfig is the default configuration pointed at the test's
// QEMU and guest image, sized to boot fast, and the host it runs on.
func integrationConfig(t testing.TB) (*configs.Config, *vm.Host) {
	t.Helper()
	testutil.RequireRoot(t)
	qemuPath := testutil.RequireQEMU(t)
	kernel, initrd := vmtest.GuestPaths(t)
	cfg := configs.Default()
	cfg.Hypervisor.Path = qemuPath
	cfg.Hypervisor.MemoryMiB = 256
	cfg.Guest.Dir = filepath.Dir(kernel)
	cfg.Guest.Kernel, cfg.Guest.Initrd = kernel, initrd
	cfg.Agent.DialTimeout = configs.Duration(90 * time.Second)
	host := vm.DetectHost("")
	host.Accel = qemu.AccelType(testutil.Accel())
	return cfg, &host
}

// shortTempDir is a temp dir under /tmp (unix socket paths are limited to
// 107 bytes), removed when the test ends, mounts a failing test leaked
// under it first.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kite-sb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, m := range mountsUnder(t, dir) {
			unmount(m)
		}
		os.RemoveAll(dir)
	})
	return dir
}

// mountsUnder lists the mount points under dir, deepest first.
func mountsUnder(t testing.TB, dir string) []string {
	t.Helper()
	ms, err := mountinfo.Read("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(ms) - 1; i >= 0; i-- {
		if strings.HasPrefix(ms[i].Target, dir+"/") {
			out = append(out, ms[i].Target)
		}
	}
	return out
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// pod is a sandbox under test.
type pod struct {
	*sandbox.Sandbox
	dir string
}

// createT creates a sandbox for first, failing the test on error; it is
// stopped when the test ends if the test did not stop it.
func createT(t *testing.T, cfg *configs.Config, host *vm.Host, id string, first *spec.Container) pod {
	t.Helper()
	dir := filepath.Join(shortTempDir(t), id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg.Runtime.Root = filepath.Dir(dir)
	sb, err := sandbox.Create(testContext(t), sandbox.Config{ID: id, Dir: dir, Config: cfg, Host: host}, first)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("console:\n%s", sb.Machine().Process().ConsoleTail(8192))
		}
		sb.Stop()
	})
	t.Logf("booted (accel %s): %+v", sb.Machine().Plan().QEMU.Accel.Type, sb.Machine().Timings())
	return pod{Sandbox: sb, dir: dir}
}

// stopAndCheck stops the sandbox and checks that QEMU and the share
// servers are gone, and the VM directory and crash record too.
func stopAndCheck(t testing.TB, p pod) {
	t.Helper()
	pids := p.Pids()
	start := time.Now()
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d still runs after Stop", pid)
		}
	}
	for _, gone := range []string{sandbox.VMDir(p.dir), filepath.Join(p.dir, sandbox.RecordName)} {
		if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", gone, err)
		}
	}
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// alive reports whether pid is a live process (a zombie counts as dead).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// syncBuffer is a Writer the relay and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runContainer creates and starts the container and returns its output
// and exit code once it exited.
func runContainer(t *testing.T, p pod, c *spec.Container) (string, int) {
	t.Helper()
	ctx := testContext(t)
	var out syncBuffer
	ctr, err := p.CreateContainer(ctx, c, sandbox.IO{Stdout: &out})
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", c.ID, err)
	}
	if err := ctr.Start(ctx); err != nil {
		t.Fatalf("Start %s: %v", c.ID, err)
	}
	e, err := ctr.Init().Wait(ctx)
	if err != nil {
		t.Fatalf("waiting for %s: %v", c.ID, err)
	}
	return out.String(), e.Code
}

// container converts a minimal spec running script with the capabilities
// given, as a bundle in rootfs's parent would be.
func container(t *testing.T, id, rootfs, script string, caps []string, mounts ...specs.Mount) *spec.Container {
	t.Helper()
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: rootfs},
		Process: &specs.Process{Args: []string{"/bin/sh", "-c", script}, Cwd: "/", Env: []string{"PATH=/bin"}},
		Mounts:  append([]specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}}, mounts...),
		Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
			{Type: specs.IPCNamespace}, {Type: specs.NetworkNamespace}}},
	}
	if len(caps) > 0 {
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
	}
	c, err := spec.Convert(s, spec.Input{ContainerID: id, Bundle: filepath.Dir(rootfs)})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return c
}

// netCaps run ping (CAP_NET_RAW) and ip (CAP_NET_ADMIN).
var netCaps = []string{"CAP_NET_RAW", "CAP_NET_ADMIN"}

// withNetns puts the container in the pod netns at path.
func withNetns(c *spec.Container, path string) *spec.Container {
	c.NetnsPath = path
	return c
}

// wantBootFailed checks that a create failed booting at step, with words
// in the error.
func wantBootFailed(t *testing.T, err error, step vm.BootStep, words ...string) {
	t.Helper()
	var be *vm.BootError
	if !errors.As(err, &be) {
		t.Fatalf("Create: %v, want a *vm.BootError", err)
	}
	if be.Step != step {
		t.Errorf("failed at %q, want %q: %v", be.Step, step, be)
	}
	for _, w := range words {
		if !strings.Contains(be.Error(), w) {
			t.Errorf("boot error lacks %q: %v", w, be)
		}
	}
	if be.Cleanup != nil {
		t.Errorf("undoing the boot failed: %v", be.Cleanup)
	}
}

// wantNothingLeft checks that a failed create left nothing of the engine's
// in the sandbox directory dir.
func wantNothingLeft(t *testing.T, dir string) {
	t.Helper()
	for _, gone := range []string{sandbox.VMDir(dir), filepath.Join(dir, sandbox.RecordName)} {
		if _, err := os.Stat(gone); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", gone, err)
		}
	}
	if m := mountsUnder(t, dir); len(m) > 0 {
		t.Errorf("mounts left under %s: %q", dir, m)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
