package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/server/reaper"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

// startSleeper creates and starts a container whose init sleeps.
func startSleeper(t *testing.T, r *reaper.Reaper, mutate func(*Spec)) *Container {
	t.Helper()
	spec := baseSpec(t, busyboxRootfs(t), "sleep", "30")
	if mutate != nil {
		mutate(&spec)
	}
	c := newContainer(t, r, spec, Options{})
	if _, err := c.Start(testCtx(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return c
}

func execSpec(args ...string) ProcessSpec {
	return ProcessSpec{Args: args, Env: []string{"PATH=/bin"}, Cwd: "/"}
}

// hostNamespaces reads pid's namespace links as the agent sees them.
func hostNamespaces(t *testing.T, pid int, kinds ...string) []string {
	t.Helper()
	var links []string
	for _, k := range kinds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, k))
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, l)
	}
	return links
}

func TestIntegrationExecJoinsTheContainer(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	c := startSleeper(t, r, func(s *Spec) { s.Namespaces.Cgroup.Mode = NamespaceNew })
	kinds := []string{"mnt", "pid", "uts", "ipc", "cgroup"}
	script := `echo $$; hostname; cat /marker
		for n in ` + strings.Join(kinds, " ") + `; do readlink /proc/self/ns/$n; done
		for n in ` + strings.Join(kinds, " ") + `; do readlink /proc/1/ns/$n; done
		ps -o pid,args | grep -v grep | grep 'sleep 30'`
	spec := execSpec("sh", "-c", script)
	// Reading /proc/1/ns needs ptrace access to the init: as many
	// capabilities as it has.
	own := ownCapabilities(t)
	spec.Capabilities = Capabilities{Bounding: own, Effective: own, Permitted: own}
	p, err := c.Exec(testCtx(t), "e1", spec)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	got := collect(t, p)
	lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
	if len(lines) != 3+2*len(kinds)+1 || got.exit.Status != 0 {
		t.Fatalf("stdout %q, stderr %q, exit %+v", got.stdout, got.stderr, got.exit)
	}
	if lines[0] == "1" || lines[1] != "kite-test" || lines[2] != "rootfs" {
		t.Errorf("pid, hostname, marker = %q; want a pid other than 1, kite-test, rootfs", lines[:3])
	}
	want := hostNamespaces(t, c.Pid(), kinds...)
	if diff := cmp.Diff(want, lines[3:3+len(kinds)]); diff != "" {
		t.Errorf("exec'd process's namespaces differ from the init's as the agent sees them (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, lines[3+len(kinds):3+2*len(kinds)]); diff != "" {
		t.Errorf("the container's PID 1 is not the init (-want +got):\n%s", diff)
	}
	if f := strings.Fields(lines[len(lines)-1]); len(f) < 1 || f[0] != "1" {
		t.Errorf("ps line %q: want the init, sleep 30, as pid 1", lines[len(lines)-1])
	}
}

func TestIntegrationExecTerminalAndUser(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	c := startSleeper(t, r, nil)
	spec := execSpec("sh", "-c", "tty; id -u; stty size")
	spec.Terminal, spec.UID, spec.GID = true, 1000, 1000
	spec.ConsoleSize = &WinSize{Rows: 24, Cols: 80}
	p, err := c.Exec(testCtx(t), "tty", spec)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	readPtyUntil(t, p.Pty(), &out, "24 80\r\n") // the whole last line, not a prefix of it
	if got := strings.ReplaceAll(out.String(), "\r\n", "\n"); got != "/dev/pts/0\n1000\n24 80\n" {
		t.Errorf("pty output %q", got)
	}
	if exit, err := p.Wait(testCtx(t)); err != nil || exit.Status != 0 {
		t.Errorf("exit %+v, %v", exit, err)
	}
}

func TestIntegrationExecErrors(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	c := startSleeper(t, r, nil)
	badCwd := execSpec("true")
	badCwd.Cwd = "/nope"
	tests := []struct {
		name string
		spec ProcessSpec
		want string
		is   error
	}{
		{"missing binary", execSpec("/bin/nope"), `exec "/bin/nope": no such file or directory`, fs.ErrNotExist},
		{"not in PATH", execSpec("nope"), `exec "nope": executable file not found in $PATH`, fs.ErrNotExist},
		{"bad cwd", badCwd, `chdir "/nope": no such file or directory`, fs.ErrNotExist},
		{"invalid spec", execSpec(), "process.args", ErrInvalidSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Exec(testCtx(t), tt.name, tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.is) {
				t.Errorf("Exec() = %v, want %q matching %v", err, tt.want, tt.is)
			}
		})
	}
}

func TestIntegrationExecIDsAndStates(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "sleep", "30")
	c := newContainer(t, r, spec, Options{})
	if _, err := c.Exec(testCtx(t), "early", execSpec("true")); !errors.Is(err, ErrState) {
		t.Errorf("Exec before Start = %v, want ErrState", err)
	}
	if _, err := c.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	p, err := c.Exec(testCtx(t), "same", execSpec("sleep", "30"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(testCtx(t), "same", execSpec("true")); !errors.Is(err, ErrExists) {
		t.Errorf("Exec with a running id = %v, want ErrExists", err)
	}
	// An exec that is not PID 1 dies of SIGTERM like anywhere else.
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exit, err := p.Wait(testCtx(t))
	if want := (reaper.Exit{Pid: p.Pid(), Status: 143, Signaled: true, Signal: syscall.SIGTERM}); err != nil || !cmp.Equal(want, exit, ignoreExitTime) {
		t.Errorf("exit = %+v, %v; want %+v", exit, err, want)
	}
	p2, err := c.Exec(testCtx(t), "same", execSpec("true"))
	if err != nil {
		t.Fatalf("Exec reusing an exited id: %v", err)
	}
	collect(t, p2)
	if err := c.Init().Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	collect(t, c.Init())
	if _, err := c.Exec(testCtx(t), "late", execSpec("true")); !errors.Is(err, ErrState) {
		t.Errorf("Exec after the init exited = %v, want ErrState", err)
	}
}
