package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"github.com/kite-vm/kite/internal/testing/vmtest"
	"github.com/kite-vm/kite/oci/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ociEnv is a state root and a configuration for the OCI commands, with
// the guest image and accelerator of the test host.
type ociEnv struct {
	t      testing.TB
	root   string
	config string
	// dirs are the test's other directories, audited for mounts.
	dirs []string
	// parallel: the test runs beside others, so its audit counts only the
	// processes that name its root.
	parallel bool
}

// newOCIEnv gates the test on root, QEMU, virtiofsd and the guest image.
// extraTOML is appended to the configuration, whose last table is
// [hypervisor].
func newOCIEnv(t testing.TB, extraTOML string) *ociEnv {
	t.Helper()
	testutil.RequireRoot(t)
	qemu := testutil.RequireQEMU(t)
	testutil.RequireVirtiofsd(t)
	kernel, initrd := vmtest.GuestPaths(t)
	// Unix socket paths are limited to 108 bytes: keep the root short.
	root, err := os.MkdirTemp("", "kt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	cfg := filepath.Join(t.TempDir(), "kite.toml")
	// [hypervisor] comes last: extraTOML may add keys to it, or tables.
	toml := fmt.Sprintf("[agent]\ndial_timeout = \"90s\"\n[guest]\ndir = %q\nkernel = %q\ninitrd = %q\n[hypervisor]\npath = %q\naccel = %q\nmemory_mib = 256\n%s",
		filepath.Dir(kernel), kernel, initrd, qemu, testutil.Accel(), extraTOML)
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &ociEnv{t: t, root: root, config: cfg}
	t.Cleanup(e.killAll)
	return e
}

// kite runs the CLI in-process with stdin empty and buffered output.
func (e *ociEnv) kite(args ...string) (code int, stdout, stderr string) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	code = e.kiteIO(IO{In: strings.NewReader(""), Out: &out, Err: &errOut}, args...)
	return code, out.String(), errOut.String()
}

func (e *ociEnv) kiteIO(stdio IO, args ...string) int {
	e.t.Helper()
	getenv := func(k string) string {
		if k == "KITE_CONFIG" {
			return e.config
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return Main(ctx, append([]string{"--root", e.root}, args...), stdio, getenv)
}

// mustKite runs the CLI and fails the test unless it exits 0.
func (e *ociEnv) mustKite(args ...string) string {
	e.t.Helper()
	code, out, errOut := e.kite(args...)
	if code != 0 {
		e.t.Fatalf("kite %v = %d: %s", args, code, errOut)
	}
	return out
}

// state returns `kite state ID`.
func (e *ociEnv) state(id string) containerState {
	e.t.Helper()
	var st containerState
	if err := json.Unmarshal([]byte(e.mustKite("state", id)), &st); err != nil {
		e.t.Fatal(err)
	}
	return st
}

// waitStatus polls `kite state` until the container has the status.
func (e *ociEnv) waitStatus(id string, want specs.ContainerState) containerState {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := e.state(id)
		if st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s is %s, want %s", id, st.Status, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// recorded reads the state Kite keeps for id.
func (e *ociEnv) recorded(id string) state.State {
	e.t.Helper()
	h, err := state.Store{Root: e.root}.Open(id)
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := h.Read()
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// killAll kills, at the end of the test, every process still naming the
// root, then has kite delete --force clean up after each container left
// (mounts, sockets, claims): a failed test must leave nothing behind.
func (e *ociEnv) killAll() {
	for _, p := range processesNaming(e.root) {
		if pid, err := strconv.Atoi(strings.Fields(p)[0]); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	entries, _ := os.ReadDir(e.root)
	for _, d := range entries {
		if d.IsDir() && state.ValidateID(d.Name()) == nil {
			e.kite("delete", "--force", d.Name())
		}
	}
}

// bundle writes an OCI bundle running args, runc spec style, with a busybox
// root file system; edit adjusts the spec.
func (e *ociEnv) bundle(args []string, edit func(*specs.Spec)) string {
	e.t.Helper()
	dir := e.t.TempDir()
	spec := runcSpec(vmtest.BusyboxRootfs(e.t), args)
	if edit != nil {
		edit(spec)
	}
	writeSpec(e.t, dir, spec)
	e.dirs = append(e.dirs, dir, spec.Root.Path)
	return dir
}

func writeSpec(t testing.TB, bundle string, spec *specs.Spec) {
	t.Helper()
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// runcSpec is what `runc spec` writes (without a terminal), for rootfs.
func runcSpec(rootfs string, args []string) *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Args: args, Cwd: "/",
			Env:             []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: rootfs},
		Hostname: "kitebox",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		},
		Linux: &specs.Linux{
			Namespaces:    []specs.LinuxNamespace{{Type: "pid"}, {Type: "network"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"}},
			MaskedPaths:   []string{"/proc/kcore", "/sys/firmware"},
			ReadonlyPaths: []string{"/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// outputFiles are files to give the CLI as stdout and stderr, so that a
// container created with them writes there after create has returned.
func (e *ociEnv) outputFiles() (stdout, stderr *os.File) {
	e.t.Helper()
	dir := e.t.TempDir()
	var files [2]*os.File
	for i, name := range []string{"stdout", "stderr"} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(func() { f.Close() })
		files[i] = f
	}
	return files[0], files[1]
}

// waitFile waits until the file holds want.
func waitFile(t *testing.T, f *os.File, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(f.Name())
		if strings.Contains(string(data), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %q, want %q in it", f.Name(), data, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
