package container

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kite-vm/kite/agent/server/reaper"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

var ignoreExitTime = cmpopts.IgnoreFields(reaper.Exit{}, "Pid", "At")

func TestIntegrationRunOutputAndExitStatus(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", "echo out; echo err >&2; exit 3")
	got := run(t, r, spec)
	want := result{stdout: "out\n", stderr: "err\n", exit: reaper.Exit{Status: 3}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{}), ignoreExitTime); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestIntegrationStdinPipe(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "cat")
	spec.Process.Stdin = true
	c := newContainer(t, r, spec, Options{})
	p, err := c.Start(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Stdin().WriteString("hello through stdin\n"); err != nil {
		t.Fatal(err)
	}
	p.Stdin().Close()
	got := collect(t, p)
	if got.stdout != "hello through stdin\n" || got.exit.Status != 0 {
		t.Errorf("cat: stdout %q, exit %+v; want the input echoed and status 0", got.stdout, got.exit)
	}
}

func TestIntegrationStdinIsDevNullByDefault(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	got := run(t, r, baseSpec(t, busyboxRootfs(t), "sh", "-c", "cat; echo done"))
	if got.stdout != "done\n" {
		t.Errorf("stdout = %q, want cat to see end-of-file at once", got.stdout)
	}
}

func TestIntegrationEnvAndCwd(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", `echo "$FOO"; pwd; echo "$PATH"`)
	spec.Process.Env = []string{"PATH=/bin:/sbin", "FOO=bar baz"}
	spec.Process.Cwd = "/tmp"
	got := run(t, r, spec)
	if want := "bar baz\n/tmp\n/bin:/sbin\n"; got.stdout != want {
		t.Errorf("stdout = %q, want %q (stderr %q)", got.stdout, want, got.stderr)
	}
}

func TestIntegrationCredentials(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", "id; grep -E '^(Uid|Gid|Groups):' /proc/self/status")
	spec.Process.UID, spec.Process.GID = 1000, 1001
	spec.Process.AdditionalGIDs = []uint32{10, 20}
	spec.Process.Capabilities = Capabilities{}
	got := run(t, r, spec)
	want := "uid=1000 gid=1001 groups=10,20\n" +
		"Uid:\t1000\t1000\t1000\t1000\nGid:\t1001\t1001\t1001\t1001\nGroups:\t10 20 \n"
	if got.stdout != want {
		t.Errorf("stdout = %q, want %q (stderr %q)", got.stdout, want, got.stderr)
	}
}

func TestIntegrationNamespacesAndHostname(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", "echo $$; hostname; for n in pid uts ipc mnt net; do readlink /proc/self/ns/$n; done")
	got := run(t, r, spec)
	lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
	if len(lines) != 7 {
		t.Fatalf("stdout = %q (stderr %q), want 7 lines", got.stdout, got.stderr)
	}
	if lines[0] != "1" || lines[1] != "kite-test" {
		t.Errorf("pid, hostname = %q, %q; want 1, kite-test", lines[0], lines[1])
	}
	for i, ns := range []string{"pid", "uts", "ipc", "mnt"} {
		if own, _ := os.Readlink("/proc/self/ns/" + ns); lines[2+i] == own {
			t.Errorf("container's %s namespace %s is the agent's", ns, own)
		}
	}
	if own, _ := os.Readlink("/proc/self/ns/net"); lines[6] != own {
		t.Errorf("container's net namespace %s, want the agent's %s", lines[6], own)
	}
	if host, _ := os.Hostname(); host == "kite-test" {
		t.Error("the container's hostname leaked to the agent")
	}
}

func TestIntegrationStartMissingBinary(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	tests := []struct {
		arg0, want string
	}{
		{"/bin/nope", `exec "/bin/nope": no such file or directory`},
		{"nope", `exec "nope": executable file not found in $PATH`},
		{"/marker", `exec "/marker": permission denied`},
	}
	for _, tt := range tests {
		t.Run(tt.arg0, func(t *testing.T) {
			c := newContainer(t, r, baseSpec(t, busyboxRootfs(t), tt.arg0), Options{})
			_, err := c.Start(testCtx(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start() = %v, want an error containing %q", err, tt.want)
			}
			var se *StageError
			if !errors.As(err, &se) {
				t.Errorf("error %v is not a *StageError", err)
			}
			if tt.arg0 != "/marker" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("errors.Is(%v, fs.ErrNotExist) = false", err)
			}
			exit, err := c.Init().Wait(testCtx(t))
			if err != nil || exit.Status != 1 {
				t.Errorf("stage exit = %+v, %v; want status 1", exit, err)
			}
		})
	}
}

func TestIntegrationBadCwdFailsAtStart(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "true")
	spec.Process.Cwd = "/missing"
	c := newContainer(t, r, spec, Options{})
	_, err := c.Start(testCtx(t))
	if want := `chdir "/missing": no such file or directory`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Start() = %v, want %q", err, want)
	}
	if _, err := c.Start(testCtx(t)); !errors.Is(err, ErrState) {
		t.Errorf("second Start() = %v, want ErrState", err)
	}
}

func TestIntegrationSignalInit(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	c := newContainer(t, r, baseSpec(t, busyboxRootfs(t), "sleep", "30"), Options{})
	p, err := c.Start(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	// PID 1 of a pid namespace ignores signals it has no handler for,
	// even from the parent namespace: SIGTERM does nothing to sleep.
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !stillRunningAfter(p, 200) {
		t.Fatal("SIGTERM killed the container's PID 1, which has no handler")
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	got := collect(t, p)
	want := reaper.Exit{Status: 137, Signaled: true, Signal: syscall.SIGKILL}
	if diff := cmp.Diff(want, got.exit, ignoreExitTime); diff != "" {
		t.Errorf("exit (-want +got):\n%s", diff)
	}
	if err := p.Signal(syscall.SIGKILL); !errors.Is(err, ErrExited) {
		t.Errorf("Signal after exit = %v, want ErrExited", err)
	}
}

func TestIntegrationSignalInitWithHandler(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", "trap 'echo term; exit 143' TERM; echo ready; while :; do sleep 0.05; done")
	c := newContainer(t, r, spec, Options{})
	p, err := c.Start(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := p.Stdout().Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("read %q, %v; want ready", buf, err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	got := collect(t, p)
	if got.stdout != "term\n" || got.exit.Status != 143 || got.exit.Signaled {
		t.Errorf("stdout %q, exit %+v; want the trap's output and status 143", got.stdout, got.exit)
	}
}

func TestIntegrationCreateReportsSetupErrors(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	tests := []struct {
		name   string
		mutate func(*Spec)
		want   string
	}{
		{"missing bind source", func(s *Spec) {
			s.Mounts = append(s.Mounts, Mount{Destination: "/data/x", Type: "bind", Source: "/nonexistent-kite-source"})
		}, `mount bind on "/data/x": stat /nonexistent-kite-source: no such file or directory`},
		{"terminal without devpts", func(s *Spec) {
			s.Mounts = s.Mounts[:1] // proc only: the rootfs's /dev is empty
			s.Process.Terminal = true
		}, `opening the container's /dev/ptmx: no such file or directory`},
		{"missing rootfs", func(s *Spec) { s.Rootfs = "/nonexistent-kite-rootfs" }, `resolving rootfs: lstat /nonexistent-kite-rootfs: no such file or directory`},
		{"joining a missing namespace", func(s *Spec) {
			s.Namespaces.IPC = Namespace{Mode: NamespaceJoin, Path: "/nonexistent-kite-ns"}
		}, `opening ipc namespace: open /nonexistent-kite-ns: no such file or directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := baseSpec(t, busyboxRootfs(t), "true")
			tt.mutate(&spec)
			before := mountTable(t)
			_, err := Create(testCtx(t), spec, r, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Create() = %v, want an error containing %q", err, tt.want)
			}
			if after := mountTable(t); after != before {
				t.Error("the agent's mount table changed")
			}
		})
	}
}
