package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// sysCall is a system call as the filter sees it.
type sysCall struct {
	arch uint32
	nr   uint32
	args [6]uint64
}

func x64(name string, args ...uint64) sysCall {
	return mk(unix.AUDIT_ARCH_X86_64, x86_64Syscalls, name, args)
}
func i386(name string, args ...uint64) sysCall {
	return mk(unix.AUDIT_ARCH_I386, i386Syscalls, name, args)
}
func x32(name string, args ...uint64) sysCall {
	return mk(unix.AUDIT_ARCH_X86_64, x32Syscalls, name, args)
}

func mk(arch uint32, table map[string]uint32, name string, args []uint64) sysCall {
	nr, ok := table[name]
	if !ok {
		panic("no system call " + name)
	}
	c := sysCall{arch: arch, nr: nr}
	copy(c.args[:], args)
	return c
}

// run runs the filter over c in x/net/bpf's interpreter. The kernel loads
// seccomp_data's 32-bit words in host order (little-endian x86), the
// interpreter in network order: each word is written big-endian so that
// both read the same numbers.
func run(t *testing.T, f Filter, c sysCall) uint32 {
	t.Helper()
	raw := make([]bpf.RawInstruction, len(f.Program))
	for i, s := range f.Program {
		raw[i] = bpf.RawInstruction{Op: s.Code, Jt: s.Jt, Jf: s.Jf, K: s.K}
	}
	ins, ok := bpf.Disassemble(raw)
	if !ok {
		t.Fatalf("the program holds instructions the interpreter cannot decode")
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatalf("the program does not load: %v", err)
	}
	buf := make([]byte, 64)
	put := func(off int, v uint32) { binary.BigEndian.PutUint32(buf[off:], v) }
	put(offNR, c.nr)
	put(offArch, c.arch)
	for i, a := range c.args {
		put(offArgs+8*i, uint32(a))
		put(offArgs+8*i+4, uint32(a>>32))
	}
	out, err := vm.Run(buf)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(out)
}

func errnoRet(e unix.Errno) uint32 { return unix.SECCOMP_RET_ERRNO | uint32(e) }

func u32(v uint32) *uint32 { return &v }

const (
	allow = unix.SECCOMP_RET_ALLOW
	kill  = unix.SECCOMP_RET_KILL_THREAD
)

var eperm = errnoRet(unix.EPERM)

type probe struct {
	c    sysCall
	want uint32
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name   string
		p      Profile
		probes []probe
	}{
		{"deny mkdir by name, allow the rest", Profile{DefaultAction: ActAllow, Rules: []Rule{
			{Names: []string{"mkdir", "mkdirat"}, Action: ActErrno},
		}}, []probe{
			{x64("mkdir"), eperm}, {x64("mkdirat"), eperm}, {x64("getpid"), allow}, {x64("rmdir"), allow},
		}},
		{"allow list with errno and actions", Profile{DefaultAction: ActErrno, DefaultErrno: u32(uint32(unix.ENOSYS)), Rules: []Rule{
			{Names: []string{"read", "write", "exit_group"}, Action: ActAllow},
			{Names: []string{"ptrace"}, Action: ActKillProcess},
			{Names: []string{"reboot"}, Action: ActKillThread},
			{Names: []string{"kill"}, Action: ActTrap},
			{Names: []string{"getpid"}, Action: ActLog},
			{Names: []string{"chmod"}, Action: ActErrno, Errno: u32(uint32(unix.EACCES))},
			{Names: []string{"uname"}, Action: ActTrace},
		}}, []probe{
			{x64("read"), allow}, {x64("exit_group"), allow}, {x64("open"), errnoRet(unix.ENOSYS)},
			{x64("ptrace"), unix.SECCOMP_RET_KILL_PROCESS}, {x64("reboot"), kill}, {x64("kill"), unix.SECCOMP_RET_TRAP},
			{x64("getpid"), unix.SECCOMP_RET_LOG}, {x64("chmod"), errnoRet(unix.EACCES)},
			{x64("uname"), unix.SECCOMP_RET_TRACE | uint32(unix.EPERM)},
		}},
		// runc keeps the first unconditional rule of a call (podman's
		// default profile allows setns, then denies it without
		// CAP_SYS_ADMIN); measured with runc 1.1 here.
		{"the first unconditional rule wins", Profile{DefaultAction: ActErrno, Rules: []Rule{
			{Names: []string{"read", "setns"}, Action: ActAllow},
			{Names: []string{"setns", "write"}, Action: ActErrno, Errno: u32(uint32(unix.EACCES))},
			{Names: []string{"write"}, Action: ActAllow},
		}}, []probe{
			{x64("setns"), allow}, {x64("read"), allow}, {x64("write"), errnoRet(unix.EACCES)}, {x64("open"), eperm},
		}},
		{"equal and masked-equal, all must hold", Profile{DefaultAction: ActAllow, Rules: []Rule{
			// socket(AF_NETLINK, _, NETLINK_AUDIT), and clone with CLONE_NEWUSER.
			{Names: []string{"socket"}, Action: ActErrno, Args: []Arg{
				{Index: 0, Op: OpEqual, Value: unix.AF_NETLINK}, {Index: 2, Op: OpEqual, Value: unix.NETLINK_AUDIT},
			}},
			{Names: []string{"clone"}, Action: ActErrno, Args: []Arg{{Index: 0, Op: OpMaskedEqual, Value: unix.CLONE_NEWUSER, ValueTwo: unix.CLONE_NEWUSER}}},
		}}, []probe{
			{x64("socket", unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_AUDIT), eperm},
			{x64("socket", unix.AF_NETLINK, unix.SOCK_RAW, unix.NETLINK_ROUTE), allow},
			{x64("socket", unix.AF_INET, unix.SOCK_RAW, unix.NETLINK_AUDIT), allow},
			// The high word counts: 2^32 + AF_NETLINK is not AF_NETLINK.
			{x64("socket", 1<<32|unix.AF_NETLINK, 0, unix.NETLINK_AUDIT), allow},
			{x64("clone", unix.CLONE_NEWUSER|unix.CLONE_NEWNS), eperm},
			{x64("clone", unix.CLONE_NEWNS), allow},
		}},
		{"several conditions on one argument are alternatives", Profile{DefaultAction: ActErrno, Rules: []Rule{
			{Names: []string{"personality"}, Action: ActAllow, Args: []Arg{
				{Index: 0, Op: OpEqual, Value: 0}, {Index: 0, Op: OpEqual, Value: 8}, {Index: 0, Op: OpEqual, Value: 0xffffffff},
			}},
		}}, []probe{
			{x64("personality", 0), allow}, {x64("personality", 8), allow}, {x64("personality", 0xffffffff), allow},
			{x64("personality", 1), eperm}, {x64("personality", 0xffffffff_ffffffff), eperm},
		}},
		{"unsigned 64-bit orderings", Profile{DefaultAction: ActAllow, Rules: []Rule{
			{Names: []string{"setuid"}, Action: ActErrno, Args: []Arg{{Index: 0, Op: OpLess, Value: 1 << 32}}},
			{Names: []string{"setgid"}, Action: ActErrno, Args: []Arg{{Index: 0, Op: OpLessOrEqual, Value: 1<<32 | 5}}},
			{Names: []string{"setreuid"}, Action: ActErrno, Args: []Arg{{Index: 1, Op: OpGreater, Value: 1<<32 | 5}}},
			{Names: []string{"setregid"}, Action: ActErrno, Args: []Arg{{Index: 1, Op: OpGreaterOrEqual, Value: 1<<32 | 5}}},
			{Names: []string{"umask"}, Action: ActErrno, Args: []Arg{{Index: 0, Op: OpNotEqual, Value: 1<<32 | 0o22}}},
		}}, []probe{
			{x64("setuid", 0xffffffff), eperm}, {x64("setuid", 1<<32), allow}, {x64("setuid", 1<<33), allow},
			{x64("setgid", 1<<32|5), eperm}, {x64("setgid", 1<<32|4), eperm}, {x64("setgid", 1<<32|6), allow}, {x64("setgid", 2<<32), allow}, {x64("setgid", 7), eperm},
			{x64("setreuid", 0, 1<<32|6), eperm}, {x64("setreuid", 0, 1<<32|5), allow}, {x64("setreuid", 0, 2<<32), eperm}, {x64("setreuid", 0, 0xffffffff), allow},
			{x64("setregid", 0, 1<<32|5), eperm}, {x64("setregid", 0, 1<<32|4), allow}, {x64("setregid", 0, 3<<32), eperm},
			{x64("umask", 0o22), eperm}, {x64("umask", 1<<32|0o22), allow}, {x64("umask", 2<<32|0o22), eperm},
		}},
		{"conditional rules first, then the unconditional one", Profile{DefaultAction: ActKillProcess, Rules: []Rule{
			{Names: []string{"ioctl"}, Action: ActAllow},
			{Names: []string{"ioctl"}, Action: ActErrno, Args: []Arg{{Index: 1, Op: OpEqual, Value: unix.TIOCSTI}}},
		}}, []probe{
			{x64("ioctl", 0, unix.TIOCSTI), eperm}, {x64("ioctl", 0, unix.TCGETS), allow}, {x64("getpid"), unix.SECCOMP_RET_KILL_PROCESS},
		}},
		{"x86_64 alone kills other ABIs", Profile{DefaultAction: ActAllow, Rules: []Rule{{Names: []string{"mkdir"}, Action: ActErrno}}}, []probe{
			{x64("mkdir"), eperm}, {i386("mkdir"), kill}, {x32("mkdir"), kill}, {x32("getpid"), kill},
		}},
		{"each ABI by its own numbers", Profile{DefaultAction: ActAllow, Architectures: []Arch{ArchX86_64, ArchX86, ArchX32}, Rules: []Rule{
			{Names: []string{"mkdir", "socketcall"}, Action: ActErrno},
		}}, []probe{
			{x64("mkdir"), eperm}, {i386("mkdir"), eperm}, {x32("mkdir"), eperm}, {i386("socketcall"), eperm},
			// i386's mkdir number (39) is x86_64's getpid: allowed there.
			{x64("getpid"), allow}, {i386("getpid"), allow}, {x32("getpid"), allow},
		}},
		{"x32 with the native x86_64", Profile{DefaultAction: ActAllow, Architectures: []Arch{ArchX32}, Rules: []Rule{{Names: []string{"mkdir"}, Action: ActErrno}}}, []probe{
			{x32("mkdir"), eperm}, {x32("getpid"), allow}, {x64("mkdir"), eperm}, {x64("getpid"), allow}, {i386("getpid"), kill},
		}},
		{"unknown architecture token", Profile{DefaultAction: ActAllow}, []probe{
			{sysCall{arch: unix.AUDIT_ARCH_AARCH64, nr: 0}, kill},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, skipped, err := Compile(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			if len(skipped) > 0 {
				t.Errorf("skipped %v", skipped)
			}
			for _, pr := range tt.probes {
				if got := run(t, f, pr.c); got != pr.want {
					t.Errorf("arch %#x nr %d args %v: got %#x, want %#x", pr.c.arch, pr.c.nr, pr.c.args, got, pr.want)
				}
			}
		})
	}
}

// Many allowed calls share returns in runs whose jumps stay in reach, and
// a long conditional body is jumped over.
func TestCompileLargeProfile(t *testing.T) {
	var names []string
	for n := range x86_64Syscalls {
		if n != "mkdir" {
			names = append(names, n)
		}
	}
	var args []Arg
	for v := range uint64(60) {
		args = append(args, Arg{Index: 0, Op: OpEqual, Value: v})
	}
	p := Profile{DefaultAction: ActErrno, Architectures: []Arch{ArchX86_64, ArchX86, ArchX32}, Rules: []Rule{
		{Names: []string{"mkdir"}, Action: ActAllow, Args: args},
		{Names: names, Action: ActAllow},
	}}
	f, _, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Program) > MaxInstructions {
		t.Fatalf("%d instructions", len(f.Program))
	}
	for _, n := range names {
		if got := run(t, f, x64(n)); got != allow {
			t.Fatalf("%s: %#x, want allow", n, got)
		}
	}
	if got := run(t, f, x64("mkdir", 59)); got != allow {
		t.Errorf("mkdir(59) = %#x, want allow", got)
	}
	if got := run(t, f, x64("mkdir", 60)); got != eperm {
		t.Errorf("mkdir(60) = %#x, want EPERM", got)
	}
	t.Logf("%d names for 3 ABIs: %d instructions", len(names), len(f.Program))
}

func TestCompileSkipsUnknownNames(t *testing.T) {
	f, skipped, err := Compile(Profile{DefaultAction: ActAllow, Architectures: []Arch{ArchX86_64, ArchX86}, Rules: []Rule{
		{Names: []string{"mkdir", "no_such_call", "socketcall"}, Action: ActErrno},
		{Names: []string{"getpid", "also_unknown"}, Action: ActAllow}, // redundant with the default: known, not skipped
	}})
	if err != nil {
		t.Fatal(err)
	}
	// socketcall is i386's only, which is listed: known.
	if diff := cmp.Diff([]string{"also_unknown", "no_such_call"}, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if got := run(t, f, x64("mkdir")); got != eperm {
		t.Errorf("mkdir: %#x", got)
	}
}

func TestCompileFlags(t *testing.T) {
	f, _, err := Compile(Profile{DefaultAction: ActAllow, Flags: []Flag{FlagTSync, FlagLog, FlagSpecAllow}})
	if err != nil {
		t.Fatal(err)
	}
	if want := uint(unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW); f.Flags != want {
		t.Errorf("flags %#x, want %#x", f.Flags, want)
	}
}

func TestCompileRefuses(t *testing.T) {
	tests := []struct {
		name string
		p    Profile
		want string
	}{
		{"no default action", Profile{}, "defaultAction: unknown action 0"},
		{"errno with allow", Profile{DefaultAction: ActAllow, DefaultErrno: u32(1)}, "defaultAction: an errno goes only with"},
		{"errno too big", Profile{DefaultAction: ActErrno, DefaultErrno: u32(70000)}, "errno 70000 does not fit"},
		{"unknown arch", Profile{DefaultAction: ActAllow, Architectures: []Arch{9}}, "architectures[0]: unknown architecture 9"},
		{"unknown flag", Profile{DefaultAction: ActAllow, Flags: []Flag{9}}, "flags[0]: unknown flag 9"},
		{"no names", Profile{DefaultAction: ActAllow, Rules: []Rule{{Action: ActErrno}}}, "syscalls[0]: names no system call"},
		{"empty name", Profile{DefaultAction: ActAllow, Rules: []Rule{{Names: []string{"read", ""}, Action: ActErrno}}}, "syscalls[0].names[1]: empty name"},
		{"bad rule action", Profile{DefaultAction: ActAllow, Rules: []Rule{{Names: []string{"read"}, Action: 99}}}, "syscalls[0].action: unknown action 99"},
		{"arg index", Profile{DefaultAction: ActAllow, Rules: []Rule{{Names: []string{"read"}, Action: ActErrno, Args: []Arg{{Index: 6, Op: OpEqual}}}}}, "syscalls[0].args[0]: argument index 6"},
		{"arg op", Profile{DefaultAction: ActAllow, Rules: []Rule{{Names: []string{"read"}, Action: ActErrno, Args: []Arg{{Op: 0}}}}}, "syscalls[0].args[0]: unknown comparison 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Compile(tt.p)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile: %v, want ErrInvalid with %q", err, tt.want)
			}
		})
	}
}

func TestCompileTooLong(t *testing.T) {
	var rules []Rule
	for i := range 1000 {
		rules = append(rules, Rule{Names: []string{"ioctl"}, Action: ActErrno, Args: []Arg{{Index: 1, Op: OpEqual, Value: uint64(i)}}})
	}
	_, _, err := Compile(Profile{DefaultAction: ActAllow, Rules: rules})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), fmt.Sprint(MaxInstructions)) {
		t.Errorf("Compile: %v, want a refusal naming the kernel's limit", err)
	}
}
