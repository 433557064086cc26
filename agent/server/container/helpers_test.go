package container

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/server/reaper"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// busyboxApplets are linked into the test rootfs.
var busyboxApplets = []string{
	"sh", "echo", "cat", "sleep", "id", "hostname", "ls", "mount", "ps", "readlink",
	"touch", "tty", "stty", "grep", "wc", "stat", "pwd", "true", "test", "mkdir", "cut", "head",
}

// busyboxRootfs builds a minimal root: busybox and its applets in /bin, a
// marker file, and empty mount points.
func busyboxRootfs(t *testing.T) string {
	t.Helper()
	src := testutil.RequireBinary(t, "/bin/busybox", "busybox-static")
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "data"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range busyboxApplets {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "marker"), []byte("rootfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// startReaper runs a reaper for the test. Tests in this package do not run
// in parallel: a process has one reaper at a time.
func startReaper(t *testing.T) *reaper.Reaper {
	t.Helper()
	r := reaper.New(reaper.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// baseSpec is a container with proc, a tmpfs /dev with devpts, and a tmpfs
// /tmp, running args as root with the test process's own capabilities.
func baseSpec(t *testing.T, root string, args ...string) Spec {
	t.Helper()
	return Spec{
		ID:       strings.ReplaceAll(t.Name(), "/", "-"),
		Rootfs:   root,
		Hostname: "kite-test",
		Mounts: []Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}},
		},
		Process: ProcessSpec{
			Args: args,
			Env:  []string{"PATH=/bin", "HOME=/"},
			Cwd:  "/",
			Capabilities: Capabilities{
				Bounding: ownCapabilities(t), Effective: ownCapabilities(t), Permitted: ownCapabilities(t),
			},
		},
	}
}

// ownCapabilities names the capabilities this test process has: asking for
// more would fail with EPERM (this host withholds CAP_SYS_RESOURCE).
func ownCapabilities(t *testing.T) []string {
	t.Helper()
	mask := statusMask(t, "/proc/self/status", "CapPrm")
	var names []string
	for _, name := range CapabilityNames() {
		if mask&(1<<capabilityNumbers[name]) != 0 {
			names = append(names, name)
		}
	}
	return names
}

// statusMask reads a hex field such as CapEff from a /proc status file.
func statusMask(t *testing.T, path, field string) uint64 {
	t.Helper()
	v := statusField(t, path, field)
	m, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		t.Fatalf("%s in %s: %v", field, path, err)
	}
	return m
}

func statusField(t *testing.T, path, field string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in %s", field, path)
	return ""
}

// testCtx bounds one container operation.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newContainer makes a container and destroys it at the end of the test.
func newContainer(t *testing.T, r *reaper.Reaper, spec Spec, opts Options) *Container {
	t.Helper()
	c, err := Create(testCtx(t), spec, r, opts)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Destroy(context.Background()); err != nil {
			t.Errorf("Destroy: %v", err)
		}
	})
	return c
}

// result is how a process ended and what it wrote.
type result struct {
	stdout, stderr string
	exit           reaper.Exit
}

// collect reads p's output to the end and waits for it.
func collect(t *testing.T, p *Process) result {
	t.Helper()
	var res result
	errc := make(chan error, 2)
	read := func(f *os.File, dst *string) {
		if f == nil {
			errc <- nil
			return
		}
		b, err := io.ReadAll(f)
		*dst = string(b)
		errc <- err
	}
	go read(p.Stdout(), &res.stdout)
	go read(p.Stderr(), &res.stderr)
	for range 2 {
		if err := <-errc; err != nil {
			t.Errorf("reading output: %v", err)
		}
	}
	exit, err := p.Wait(testCtx(t))
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	res.exit = exit
	return res
}

// run creates a container from spec, starts it and collects its init.
func run(t *testing.T, r *reaper.Reaper, spec Spec) result {
	t.Helper()
	c := newContainer(t, r, spec, Options{})
	p, err := c.Start(testCtx(t))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return collect(t, p)
}

// readPtyUntil reads a pty master into out until want has appeared.
func readPtyUntil(t *testing.T, pty *os.File, out *strings.Builder, want string) {
	t.Helper()
	buf := make([]byte, 4096)
	pty.SetReadDeadline(time.Now().Add(20 * time.Second))
	for !strings.Contains(out.String(), want) {
		n, err := pty.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			t.Fatalf("reading pty (waiting for %q, got %q): %v", want, out.String(), err)
		}
	}
}

// mountTable returns this process's mount table without the per-mount ids,
// which the comparison does not need.
// mountTable is the process's mount table, but for what other tests on
// the host mount and unmount meanwhile under their own temporary
// directories and network namespaces (go test runs packages in parallel,
// and mount events propagate into this namespace): a mount this test's
// code leaks lands in its own directories or outside /tmp, and shows.
func mountTable(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	own := filepath.Dir(t.TempDir())
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		target := f[4]
		others := strings.HasPrefix(target, "/tmp/") || strings.HasPrefix(target, "/run/netns/") || strings.HasPrefix(target, "/run/kite")
		if others && !strings.HasPrefix(target, own+"/") && target != own {
			continue
		}
		keep = append(keep, strings.Join(f[3:], " ")) // ids and devices aside: they change with remounts elsewhere
	}
	return strings.Join(keep, "\n")
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, os.ErrNotExist) || err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// stillRunningAfter reports whether p is still running after ms
// milliseconds.
func stillRunningAfter(p *Process, ms int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(ms)*time.Millisecond)
	defer cancel()
	_, err := p.Wait(ctx)
	return errors.Is(err, context.DeadlineExceeded)
}

func itoa(n int) string { return strconv.Itoa(n) }
