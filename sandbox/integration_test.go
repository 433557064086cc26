package sandbox_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/sandbox"
	"github.com/kite-vm/kite/spec"
)

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

// exits records what the engine reports.
type exits struct {
	mu  sync.Mutex
	got map[string]sandbox.Exit
}

func (e *exits) ProcessExited(p *sandbox.Process, x sandbox.Exit) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got[p.Container().ID()+"/"+p.ExecID()] = x
}
func (e *exits) SandboxDied(error) {}
func (e *exits) Degraded(string)   {}

// testConfig is the default configuration with the test's guest.
func testConfig(t *testing.T) *configs.Config {
	t.Helper()
	kernel, _ := vmtest.GuestPaths(t)
	cfg := configs.Default()
	cfg.Guest.Dir = filepath.Dir(kernel)
	cfg.Hypervisor.Accel = configs.Accel(testutil.Accel())
	return cfg
}

func container(id, rootfs string, args ...string) *spec.Container {
	return &spec.Container{
		ID: id, Rootfs: spec.Rootfs{HostPath: rootfs},
		Process: &spec.Process{Args: args, Cwd: "/", Env: []string{"PATH=/bin"}},
		Mounts:  []spec.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Namespaces: spec.Namespaces{PID: spec.NamespaceNew, UTS: spec.NamespaceSandbox, IPC: spec.NamespaceSandbox,
			Cgroup: spec.NamespaceSandbox},
	}
}

// A sandbox through the engine: a container's output and exit, an exec, a
// second container joining, and nothing left once stopped.
func TestIntegrationSandboxLifecycle(t *testing.T) {
	testutil.RequireRoot(t)
	cfg := testConfig(t)
	rootfs := vmtest.BusyboxRootfs(t)
	dir, err := os.MkdirTemp("", "kite-sb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg.Runtime.Root = dir
	ex := &exits{got: map[string]sandbox.Exit{}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	first := container("c1", rootfs, "sh", "-c", "echo out; echo err >&2; read x; exit 3")
	sb, err := sandbox.Create(ctx, sandbox.Config{ID: "sb1", Dir: dir, Config: cfg, Observer: ex}, first)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Stop() })
	var out, errOut syncBuffer
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c, err := sb.CreateContainer(ctx, first, sandbox.IO{Stdin: sandbox.FileInput(pr), Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); sandbox.Classify(err) != sandbox.ErrFailedPrecondition {
		t.Errorf("a second start = %v, want a failed precondition", err)
	}
	p, err := c.AddExec("e1", &spec.Process{Args: []string{"sh", "-c", "hostname; exit 5"}, Cwd: "/", Env: []string{"PATH=/bin"}},
		sandbox.IO{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if e, err := p.Wait(ctx); err != nil || e.Code != 5 {
		t.Errorf("exec exit = %v, %v; want 5", e, err)
	}
	pw.Write([]byte("go\n"))
	pw.Close()
	e, err := c.Init().Wait(ctx)
	if err != nil || e.Code != 3 {
		t.Fatalf("init exit = %v, %v; want 3", e, err)
	}
	if !strings.Contains(out.String(), "out\n") || errOut.String() != "err\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
	if err := c.Init().Signal(ctx, 15, false); sandbox.Classify(err) != sandbox.ErrNotFound || !strings.Contains(err.Error(), "not running") {
		t.Errorf("signal to an exited init = %v, want not found, not running", err)
	}
	second := container("c2", rootfs, "true")
	c2, err := sb.CreateContainer(ctx, second, sandbox.IO{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if e, err := c2.Init().Wait(ctx); err != nil || e.Code != 0 {
		t.Errorf("second container exit = %v, %v", e, err)
	}
	if err := sb.RemoveContainer(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
	if err := sb.Stop(); err != nil {
		t.Fatal(err)
	}
	ex.mu.Lock()
	if got := ex.got["c1/"]; got.Code != 3 {
		t.Errorf("observer heard %v for c1, want 3", got)
	}
	ex.mu.Unlock()
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		var names []string
		for _, l := range left {
			names = append(names, l.Name())
		}
		t.Errorf("left in the sandbox directory: %v", names)
	}
}
