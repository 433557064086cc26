package container

import (
	"strings"
	"testing"

	"github.com/kite-vm/kite/agent/server/seccomp"
	"github.com/kite-vm/kite/agent/server/seccomp/seccomptest"
	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
)

func compile(t *testing.T, p seccomp.Profile) *seccomp.Filter {
	t.Helper()
	f, _, err := seccomp.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	return &f
}

// A profile that denies mkdir makes mkdir fail with EPERM in the init and
// in an exec, with and without no_new_privs (the filter is installed at two
// different points then), while everything else works; the flags reach
// seccomp(2) (TSYNC across the stage's Go threads); the test process,
// which plays the agent, stays unfiltered.
func TestIntegrationSeccompDeniesMkdir(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	deny := compile(t, seccomp.Profile{DefaultAction: seccomp.ActAllow, Flags: []seccomp.Flag{seccomp.FlagTSync, seccomp.FlagLog, seccomp.FlagSpecAllow}, Rules: []seccomp.Rule{
		{Names: []string{"mkdir", "mkdirat"}, Action: seccomp.ActErrno, Errno: ptr(uint32(unix.EPERM))},
	}})
	const script = `mkdir /tmp/a 2>&1; echo "mkdir=$?"; echo x > /tmp/f && cat /tmp/f; sleep 30`
	for _, nnp := range []bool{true, false} {
		t.Run(map[bool]string{true: "no_new_privs", false: "privileged"}[nnp], func(t *testing.T) {
			spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", script)
			spec.Process.NoNewPrivileges = nnp
			spec.Seccomp = deny
			c := newContainer(t, r, spec, Options{})
			p, err := c.Start(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			out := readLines(t, p, 3)
			if !strings.Contains(out[0], "Operation not permitted") || out[1] != "mkdir=1" || out[2] != "x" {
				t.Errorf("the init printed %q: want mkdir refused with EPERM and the rest working", out)
			}
			e, err := c.Exec(testCtx(t), "e1", execSpec("sh", "-c", "mkdir /tmp/b 2>&1; echo mkdir=$?; grep Seccomp: /proc/self/status"))
			if err != nil {
				t.Fatal(err)
			}
			if got := collect(t, e).stdout; !strings.Contains(got, "Operation not permitted") || !strings.Contains(got, "mkdir=1") || !strings.Contains(got, "Seccomp:\t2") {
				t.Errorf("the exec printed %q: want mkdir refused and seccomp mode 2 (filter)", got)
			}
			if got := statusField(t, "/proc/self/status", "Seccomp"); got != "0" {
				t.Errorf("the agent's own seccomp mode is %s, want 0", got)
			}
		})
	}
}

// An argument condition: kill(pid, SIGUSR2) is refused, other signals go.
func TestIntegrationSeccompArgumentCondition(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", `trap "" USR1 USR2; kill -USR2 $$ 2>&1; echo usr2=$?; kill -USR1 $$; echo usr1=$?`)
	spec.Seccomp = compile(t, seccomp.Profile{DefaultAction: seccomp.ActAllow, Rules: []seccomp.Rule{
		{Names: []string{"kill"}, Action: seccomp.ActErrno, Args: []seccomp.Arg{{Index: 1, Op: seccomp.OpEqual, Value: uint64(unix.SIGUSR2)}}},
	}})
	got := run(t, r, spec).stdout
	if !strings.Contains(got, "usr2=1") || !strings.Contains(got, "usr1=0") {
		t.Errorf("printed %q: want kill -USR2 refused and kill -USR1 allowed", got)
	}
}

// The Docker default profile lets busybox run, and still refuses mount to
// a process holding CAP_SYS_ADMIN (the profile was rendered without it).
func TestIntegrationSeccompDockerDefault(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c",
		`echo hello; ls /bin | grep -c . ; mkdir /tmp/d && touch /tmp/d/f && ls /tmp/d; cat /marker; id -u; mount -t tmpfs none /data 2>&1; echo mount=$?`)
	spec.Process.NoNewPrivileges = true
	spec.Seccomp = compile(t, seccomptest.DockerDefault(t))
	res := run(t, r, spec)
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(lines) != 7 || lines[0] != "hello" || lines[2] != "f" || lines[3] != "rootfs" || lines[4] != "0" ||
		!strings.Contains(lines[5], "permission denied") || lines[6] != "mount=1" {
		t.Errorf("busybox under the default profile printed %q (stderr %q, exit %+v)", lines, res.stderr, res.exit)
	}
}

func ptr[T any](v T) *T { return &v }

// readLines reads n lines of p's stdout.
func readLines(t *testing.T, p *Process, n int) []string {
	t.Helper()
	var lines []string
	buf := make([]byte, 1)
	var cur strings.Builder
	for len(lines) < n {
		if _, err := p.Stdout().Read(buf); err != nil {
			t.Fatalf("reading stdout after %q: %v", lines, err)
		}
		if buf[0] == '\n' {
			lines = append(lines, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(buf[0])
	}
	return lines
}
