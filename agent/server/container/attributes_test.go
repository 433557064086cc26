package container

import (
	"fmt"
	"os"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

func TestIntegrationRlimits(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c")
	spec.Process.Rlimits = []Rlimit{
		{Type: "RLIMIT_NOFILE", Soft: 1234, Hard: 2345},
		{Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
	}
	got := run(t, r, spec)
	if want := "1234\n2345\n0\n"; got.stdout != want {
		t.Errorf("stdout = %q, want %q (stderr %q)", got.stdout, want, got.stderr)
	}
}

func TestIntegrationNoNewPrivileges(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	for _, nnp := range []bool{false, true} {
		t.Run(fmt.Sprint(nnp), func(t *testing.T) {
			spec := baseSpec(t, busyboxRootfs(t), "grep", "NoNewPrivs", "/proc/self/status")
			spec.Process.NoNewPrivileges = nnp
			got := run(t, r, spec)
			want := "NoNewPrivs:\t0\n"
			if nnp {
				want = "NoNewPrivs:\t1\n"
			}
			if got.stdout != want {
				t.Errorf("stdout = %q, want %q", got.stdout, want)
			}
		})
	}
}

func TestIntegrationCapabilities(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	tests := []struct {
		name string
		uid  uint32
		caps Capabilities
		// want is CapInh CapPrm CapEff CapBnd CapAmb.
		want [5]uint64
	}{
		{
			name: "root gets its bounding set",
			caps: Capabilities{
				Bounding:  []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN"},
				Effective: []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN"},
				Permitted: []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN"},
			},
			want: [5]uint64{0, 1<<0 | 1<<5 | 1<<12, 1<<0 | 1<<5 | 1<<12, 1<<0 | 1<<5 | 1<<12, 0},
		},
		{
			name: "no capabilities",
			want: [5]uint64{},
		},
		{
			name: "non-root keeps ambient ones",
			uid:  1000,
			caps: Capabilities{
				Bounding:    []string{"CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN"},
				Effective:   []string{"CAP_NET_BIND_SERVICE"},
				Permitted:   []string{"CAP_NET_BIND_SERVICE"},
				Inheritable: []string{"CAP_NET_BIND_SERVICE"},
				Ambient:     []string{"CAP_NET_BIND_SERVICE"},
			},
			want: [5]uint64{1 << 10, 1 << 10, 1 << 10, 1<<10 | 1<<12, 1 << 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := baseSpec(t, busyboxRootfs(t), "grep", "^Cap", "/proc/self/status")
			spec.Process.UID, spec.Process.GID = tt.uid, tt.uid
			spec.Process.Capabilities = tt.caps
			got := run(t, r, spec)
			want := fmt.Sprintf("CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n",
				tt.want[0], tt.want[1], tt.want[2], tt.want[3], tt.want[4])
			if got.stdout != want {
				t.Errorf("stdout:\n%s\nwant:\n%s\nstderr: %s", got.stdout, want, got.stderr)
			}
		})
	}
}

func TestIntegrationUmaskOOMScoreDevicesSysctls(t *testing.T) {
	testutil.RequireRoot(t)
	r := startReaper(t)
	umask, oom := uint32(0o027), 500
	spec := baseSpec(t, busyboxRootfs(t), "sh", "-c", `
		umask
		cat /proc/self/oom_score_adj
		stat -c '%a %u %g %t,%T %F' /dev/myzero
		head -c 4 /dev/myzero | wc -c
		cat /proc/sys/kernel/shmmni`)
	spec.Process.Umask = &umask
	spec.Process.OOMScoreAdj = &oom
	spec.Devices = []Device{{Source: "/dev/zero", Destination: "/dev/myzero", Mode: 0o600, UID: 1000, GID: 1001}}
	spec.Sysctls = []Sysctl{{Key: "kernel.shmmni", Value: "1234"}}
	hostShmmni := readFile(t, "/proc/sys/kernel/shmmni")
	got := run(t, r, spec)
	want := "0027\n500\n600 1000 1001 1,5 character special file\n4\n1234\n"
	if got.stdout != want {
		t.Errorf("stdout = %q, want %q (stderr %q)", got.stdout, want, got.stderr)
	}
	if now := readFile(t, "/proc/sys/kernel/shmmni"); now != hostShmmni {
		t.Errorf("the guest's kernel.shmmni changed from %q to %q: the sysctl missed the container's ipc namespace", hostShmmni, now)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
