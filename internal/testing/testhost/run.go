package testhost

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/guest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
)

// Env vars that choose the test host's inputs.
const (
	// DirEnv overrides where the test host image is cached (default: a
	// "testhost" directory beside the guest image directory).
	DirEnv = "KITE_TESTHOST_DIR"
)

// Options shape a run. The zero value is the documented test host.
type Options struct {
	MemoryMiB int           // default 1536
	VCPUs     int           // default 2
	Timeout   time.Duration // boot plus the inner run; default 4 minutes
	Env       []string      // more KEY=VALUE for the inner test binary
	// Package is the package whose tests are compiled (go test -c); default
	// ".", the package of the running test (go test runs it in its dir).
	Package string
	// IGB adds an igb NIC with SR-IOV behind root port 0000:00:06.0. It
	// needs QEMU 10 from bookworm-backports, fetched with apt-get download
	// into the image cache on first use (FetchBackportQEMU).
	IGB bool
	// Binaries are main packages (import paths, e.g.
	// "github.com/kite-vm/kite/cmd/kite") built static into BinDir, which
	// comes first in the inner PATH.
	Binaries []string
	// BuildTags are go build tags for the compiled tests (a test behind a
	// tag runs inside only when the tag is given here too).
	BuildTags []string
	// GuestDir is a Kite guest image directory (vmlinux, initramfs,
	// manifest) copied into the test host, where the tests find it through
	// KITE_TEST_GUEST_DIR: for sandboxes booted inside.
	GuestDir string
}

// BinDir holds Options.Binaries inside the test host.
const BinDir = "/work/bin"

func (o Options) withDefaults() Options {
	if o.MemoryMiB == 0 {
		o.MemoryMiB = 1536
	}
	if o.VCPUs == 0 {
		o.VCPUs = 2
	}
	if o.Timeout == 0 {
		o.Timeout = 4 * time.Minute
	}
	if o.Package == "" {
		o.Package = "."
	}
	return o
}

// Result is what a finished run measured.
type Result struct {
	BootTime time.Duration // QEMU start to ReadyMarker
	RunTime  time.Duration // ReadyMarker to the VM's exit
	Output   string        // the inner test binary's output
}

// Run boots the test host and runs the calling test or benchmark (t.Name())
// inside it,
// from a freshly compiled test binary of o.Package. The inner output goes
// to t.Logf line by line as it comes; a failed inner run fails t with the
// console tail and the QEMU command line.
func Run(t testing.TB, o Options) Result {
	t.Helper()
	res, err := run(t, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// run is Run with the verdict on the inner tests returned rather than
// failing t (failures to set the run up still fail t).
func run(t testing.TB, o Options) (Result, error) {
	t.Helper()
	if Inside() {
		t.Fatal("testhost.Run called inside the test host: guard the outer half with testhost.Inside()")
	}
	o = o.withDefaults()
	testutil.RequireRoot(t)
	qemuPath := testutil.RequireQEMU(t)
	goTool := testutil.RequireBinary(t, "go", "golang-go (or put Go's bin directory in PATH)")
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()

	guestDir, outDir := cacheDirs()
	img := image(t, ctx, guestDir, outDir)
	var dataDirs []string
	if o.IGB {
		q := backportQEMU(t, ctx, outDir)
		qemuPath, dataDirs = q.Binary, q.DataDirs
	}
	dir, err := os.MkdirTemp("", "kite-testhost-") // short: it holds sockets
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, NVMeNamespaceFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, NVMeNamespaceFile), NVMeNamespaceMiB<<20); err != nil {
		t.Fatal(err)
	}
	if o.GuestDir != "" {
		copyGuest(t, o.GuestDir, filepath.Join(work, guestSubdir))
		o.Env = append(o.Env, vmtest.GuestDirEnv+"="+filepath.Join("/work", guestSubdir))
	}
	testArgs := []string{"test", "-c", "-o", filepath.Join(work, "test.bin")}
	if len(o.BuildTags) > 0 {
		testArgs = append(testArgs, "-tags", strings.Join(o.BuildTags, ","))
	}
	compile(t, ctx, goTool, append(testArgs, o.Package))
	if len(o.Binaries) > 0 {
		compile(t, ctx, goTool, append([]string{"build", "-o", filepath.Join(work, "bin") + "/"}, o.Binaries...))
	}
	if err := writeRunScript(work, t.Name(), o.Timeout, o.Env); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; ; attempt++ {
		v, err := boot(ctx, vmConfig(qemuPath, img, dir, work, o), dataDirs, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := v.stop(); err != nil {
				t.Error(err)
			}
		})
		res, err := v.follow(t, ctx, work)
		hung := errors.Is(err, errBootHung)
		if err == nil || attempt > 1 || res.BootTime > 0 || !hung && !v.abortedInTCG() {
			return res, err
		}
		if hung {
			t.Logf("the test host was not up within %s (its console ends: %s): booting it once more", bootDeadline, lastLine(v.console()))
			if err := v.stop(); err != nil {
				t.Logf("stopping the hung test host: %v", err)
			}
			continue
		}
		t.Logf("QEMU aborted before the test host was up (%s): booting it once more", v.proc.LogTail(160))
	}
}

// cacheDirs returns the guest image directory and the test host's cache.
func cacheDirs() (guestDir, outDir string) {
	guestDir = os.Getenv(vmtest.GuestDirEnv)
	if guestDir == "" {
		guestDir = configs.Default().Guest.Dir
	}
	outDir = os.Getenv(DirEnv)
	if outDir == "" {
		outDir = filepath.Join(filepath.Dir(filepath.Clean(guestDir)), "testhost")
	}
	return guestDir, outDir
}

// backportQEMU fetches (once) the QEMU 10 that Options.IGB needs.
func backportQEMU(t testing.TB, ctx context.Context, outDir string) BackportQEMU {
	t.Helper()
	testutil.RequireBinary(t, "apt-get", "apt")
	testutil.RequireBinary(t, "dpkg-deb", "dpkg")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockDir(ctx, outDir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	start := time.Now()
	q, err := FetchBackportQEMU(ctx, "/etc/apt", filepath.Join(outDir, "qemu-backports"))
	if err != nil {
		t.Fatalf("QEMU 10 for the igb NIC: %v", err)
	}
	t.Logf("QEMU from bookworm-backports ready in %s: %s", time.Since(start).Round(time.Millisecond), q.Binary)
	return q
}

// image builds the test host image, skipping when the guest image it
// borrows from is missing.
func image(t testing.TB, ctx context.Context, guestDir, outDir string) Image {
	t.Helper()
	start := time.Now()
	img, err := BuildImage(ctx, ImageOptions{GuestDir: guestDir, OutDir: outDir})
	if errors.Is(err, ErrNoGuestImage) {
		testutil.Skip(t, err.Error(), "make guest (or kite guest build --out "+guestDir+")")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test host image (kernel %s) ready in %s", img.Release, time.Since(start).Round(time.Millisecond))
	return img
}

// compile runs go (test -c or build) with cgo off: static binaries do not
// depend on the host's libc being found through the shared /usr.
func compile(t testing.TB, ctx context.Context, goTool string, args []string) {
	t.Helper()
	start := time.Now()
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s (for the test host): %v\n%s", strings.Join(args, " "), err, b)
	}
	t.Logf("go %s ... %s: %s", args[0], args[len(args)-1], time.Since(start).Round(time.Millisecond))
}

// runPattern selects exactly the test named name (a subtest name has one
// part per level).
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// writeRunScript writes the command /init runs: the test binary with the
// calling test selected and InsideEnv set. Strictness carries over, so a
// skip inside fails under CI as it would outside.
func writeRunScript(work, name string, timeout time.Duration, env []string) error {
	vars := append([]string{InsideEnv + "=1", testutil.StrictEnv + "=" + os.Getenv(testutil.StrictEnv)}, env...)
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	for _, kv := range vars {
		b.WriteString("export " + shellQuote(kv) + "\n")
	}
	if strings.HasPrefix(name, "Benchmark") {
		// A benchmark runs once inside (it repeats its own measurement):
		// its metrics line is the caller's to read (BenchMetrics).
		fmt.Fprintf(&b, "exec /work/test.bin -test.v -test.run '^$' -test.bench %s -test.benchtime 1x -test.timeout %s\n",
			shellQuote(runPattern(name)), strconv.Quote(timeout.String()))
	} else {
		fmt.Fprintf(&b, "exec /work/test.bin -test.v -test.count=1 -test.run %s -test.timeout %s\n",
			shellQuote(runPattern(name)), strconv.Quote(timeout.String()))
	}
	return os.WriteFile(filepath.Join(work, runScript), []byte(b.String()), 0o755)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// guestSubdir holds Options.GuestDir's copy in the work share.
const guestSubdir = "guest"

// copyGuest copies the image files of a guest directory (not its cache).
func copyGuest(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{guest.KernelFile, guest.InitrdFile, guest.ManifestFile} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatalf("copying the guest image into the test host: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchMetrics reads the metrics a benchmark named name reported inside
// the test host (the "value unit" pairs after ns/op on its result line,
// which starts with name: pass "BenchmarkX-" for BenchmarkX alone),
// for the outer benchmark to report again.
func BenchMetrics(output, name string) map[string]float64 {
	m := map[string]float64{}
	for _, line := range strings.Split(output, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], name) {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil && f[i+1] != "ns/op" {
				m[f[i+1]] = v
			}
		}
	}
	return m
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
