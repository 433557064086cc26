package spec

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func uintp(v uint) *uint { return &v }

// The Docker/moby default profile as containerd and dockerd render it
// (RuntimeDefault) converts whole.
func TestConvertSeccompDefaultProfile(t *testing.T) {
	data, err := os.ReadFile("../agent/server/seccomp/testdata/docker-default.json")
	if err != nil {
		t.Fatal(err)
	}
	var prof specs.LinuxSeccomp
	if err := json.Unmarshal(data, &prof); err != nil {
		t.Fatal(err)
	}
	s := readConfig(t, "default")
	s.Linux.Seccomp = &prof
	c, err := Convert(s, Input{ContainerID: "c1", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Seccomp
	if got == nil || got.DefaultAction != "SCMP_ACT_ERRNO" || got.DefaultErrno == nil || *got.DefaultErrno != 1 {
		t.Fatalf("default action %+v", got)
	}
	if diff := cmp.Diff([]SeccompArch{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}, got.Architectures); diff != "" {
		t.Errorf("architectures (-want +got):\n%s", diff)
	}
	if len(got.Syscalls) != len(prof.Syscalls) {
		t.Fatalf("%d rules, want %d", len(got.Syscalls), len(prof.Syscalls))
	}
	for i, r := range prof.Syscalls {
		g := got.Syscalls[i]
		if !slices.Equal(g.Names, r.Names) || string(g.Action) != string(r.Action) || len(g.Args) != len(r.Args) {
			t.Errorf("syscalls[%d] = %+v, want %+v", i, g, r)
		}
		for j, a := range r.Args {
			if w := (SeccompArg{Index: uint32(a.Index), Value: a.Value, ValueTwo: a.ValueTwo, Op: SeccompOp(a.Op)}); g.Args[j] != w {
				t.Errorf("syscalls[%d].args[%d] = %+v, want %+v", i, j, g.Args[j], w)
			}
		}
	}
	if slices.ContainsFunc(c.Ignored, func(s string) bool { return strings.Contains(s, "seccomp") }) {
		t.Errorf("seccomp is ignored: %v", c.Ignored)
	}
	// The engine's copy is its own.
	cl := c.Clone()
	cl.Seccomp.Syscalls[0].Names[0] = "changed"
	*cl.Seccomp.DefaultErrno = 7
	if c.Seccomp.Syscalls[0].Names[0] == "changed" || *c.Seccomp.DefaultErrno == 7 {
		t.Error("Clone shares the seccomp profile")
	}
}

func TestConvertSeccompSpellings(t *testing.T) {
	s := readConfig(t, "default")
	s.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActKill,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchAARCH64},
		Flags:         []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir"}, Action: specs.ActErrno, ErrnoRet: uintp(13)},
			{Names: []string{"kill"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 1, Value: 10, Op: specs.OpEqualTo}}},
		},
	}
	c, err := Convert(s, Input{ContainerID: "c1", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	errno := uint32(13)
	want := &Seccomp{
		DefaultAction: "SCMP_ACT_KILL_THREAD",
		Architectures: []SeccompArch{"SCMP_ARCH_X86_64"},
		Flags:         []SeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"},
		Syscalls: []SeccompRule{
			{Names: []string{"mkdir"}, Action: "SCMP_ACT_ERRNO", Errno: &errno},
			{Names: []string{"kill"}, Action: "SCMP_ACT_ALLOW", Args: []SeccompArg{{Index: 1, Value: 10, Op: "SCMP_CMP_EQ"}}},
		},
	}
	if diff := cmp.Diff(want, c.Seccomp); diff != "" {
		t.Errorf("seccomp (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(c.Ignored, func(s string) bool { return strings.HasPrefix(s, "linux.seccomp.architectures[1] (SCMP_ARCH_AARCH64") }) {
		t.Errorf("the dropped architecture is not listed as ignored: %v", c.Ignored)
	}
}

func TestConvertSeccompRefuses(t *testing.T) {
	tests := []struct {
		name string
		sc   specs.LinuxSeccomp
		want string
		is   error
	}{
		{"notify default", specs.LinuxSeccomp{DefaultAction: specs.ActNotify}, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY needs a seccomp agent on the host", ErrUnsupported},
		{"notify rule", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActNotify}}},
			"linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY", ErrUnsupported},
		{"listener", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock"}, "linux.seccomp.listenerPath: a seccomp notify listener runs on the host", ErrUnsupported},
		{"unknown action", specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_MAYBE"}, `linux.seccomp.defaultAction: unknown action "SCMP_ACT_MAYBE"`, ErrInvalidSpec},
		{"errno with allow", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: uintp(1)}, "linux.seccomp.defaultAction: an errnoRet goes only with", ErrInvalidSpec},
		{"errno too big", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno, ErrnoRet: uintp(1 << 20)}}},
			"linux.seccomp.syscalls[0].action: errnoRet 1048576 does not fit in 16 bits", ErrInvalidSpec},
		{"unknown arch", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_Z80"}}, `linux.seccomp.architectures[0]: unknown architecture "SCMP_ARCH_Z80"`, ErrInvalidSpec},
		{"listener flag", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}},
			`linux.seccomp.flags[0]: seccomp flag "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" is not supported`, ErrUnsupported},
		{"no names", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Action: specs.ActErrno}}}, "linux.seccomp.syscalls[0].names: want one or more", ErrInvalidSpec},
		{"arg index", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}, "linux.seccomp.syscalls[0].args[0]: argument index 6", ErrInvalidSpec},
		{"arg op", specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_LIKE"}}}}}, `linux.seccomp.syscalls[0].args[0]: unknown comparison "SCMP_CMP_LIKE"`, ErrInvalidSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := readConfig(t, "default")
			sc := tt.sc
			s.Linux.Seccomp = &sc
			_, err := Convert(s, Input{ContainerID: "c1", Bundle: "/b"})
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Error(), tt.want) || !errors.Is(err, tt.is) {
				t.Errorf("Convert: %v, want a %v starting %q", err, tt.is, tt.want)
			}
		})
	}
}
