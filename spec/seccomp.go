package spec

import (
	"fmt"
	"math"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Seccomp is linux.seccomp, checked: the system call filter the guest
// compiles and installs for every process of the container, its execs
// included. The names are the OCI spec's.
type Seccomp struct {
	// DefaultAction is what a call no rule matches gets.
	DefaultAction SeccompAction
	// DefaultErrno is defaultErrnoRet; nil means EPERM.
	DefaultErrno *uint32
	// Architectures are the x86 ABIs listed besides the guest's native
	// x86_64 (other architectures are dropped: nothing of theirs runs in
	// an x86_64 guest).
	Architectures []SeccompArch
	// Flags are seccomp(2) flags.
	Flags []SeccompFlag
	// Syscalls are the rules.
	Syscalls []SeccompRule
}

// SeccompRule gives system calls an action when its conditions hold.
type SeccompRule struct {
	Names  []string
	Action SeccompAction
	// Errno is errnoRet; nil means EPERM.
	Errno *uint32
	Args  []SeccompArg
}

// SeccompArg is a condition on one argument.
type SeccompArg struct {
	Index           uint32
	Value, ValueTwo uint64
	Op              SeccompOp
}

// SeccompAction is an OCI action, SCMP_ACT_KILL spelled
// SCMP_ACT_KILL_THREAD.
type SeccompAction string

// SeccompArch is an x86 OCI architecture name.
type SeccompArch string

// SeccompFlag is an OCI seccomp flag name.
type SeccompFlag string

// SeccompOp is an OCI comparison name.
type SeccompOp string

// The actions, architectures, flags and comparisons the guest implements.
var (
	seccompActions = []SeccompAction{"SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP",
		"SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_LOG", "SCMP_ACT_ALLOW"}
	seccompArches = []SeccompArch{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}
	otherArches   = []specs.Arch{specs.ArchARM, specs.ArchAARCH64, specs.ArchMIPS, specs.ArchMIPS64,
		specs.ArchMIPS64N32, specs.ArchMIPSEL, specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchPPC,
		specs.ArchPPC64, specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X, specs.ArchPARISC,
		specs.ArchPARISC64, specs.ArchRISCV64, specs.ArchLOONGARCH64, specs.ArchM68K, specs.ArchSH, specs.ArchSHEB}
	seccompFlags = []SeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}
	seccompOps   = []SeccompOp{"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
		"SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}
)

// seccomp converts linux.seccomp, refusing what the guest cannot do: a
// notify action or listener needs an agent on the host, out of the
// guest's reach.
func (c *converter) seccomp(in *specs.LinuxSeccomp) *Seccomp {
	if in == nil {
		return nil
	}
	const field = "linux.seccomp"
	out := &Seccomp{}
	out.DefaultAction, out.DefaultErrno = c.seccompAction(field+".defaultAction", in.DefaultAction, in.DefaultErrnoRet)
	if in.ListenerPath != "" || in.ListenerMetadata != "" {
		c.fail(unsupported(field+".listenerPath", "a seccomp notify listener runs on the host, out of the guest's reach"))
	}
	for i, a := range in.Architectures {
		switch {
		case slices.Contains(seccompArches, SeccompArch(a)):
			out.Architectures = append(out.Architectures, SeccompArch(a))
		case slices.Contains(otherArches, a):
			c.ignore(fmt.Sprintf("%s.architectures[%d]", field, i), string(a)+": no process of that architecture runs in the x86_64 guest")
		default:
			c.fail(invalid(fmt.Sprintf("%s.architectures[%d]", field, i), "unknown architecture %q", a))
		}
	}
	for i, f := range in.Flags {
		if !slices.Contains(seccompFlags, SeccompFlag(f)) {
			c.fail(unsupported(fmt.Sprintf("%s.flags[%d]", field, i), "seccomp flag %q is not supported (the guest knows %v)", f, seccompFlags))
			continue
		}
		out.Flags = append(out.Flags, SeccompFlag(f))
	}
	for i, sc := range in.Syscalls {
		out.Syscalls = append(out.Syscalls, c.seccompRule(fmt.Sprintf("%s.syscalls[%d]", field, i), sc))
	}
	return out
}

func (c *converter) seccompRule(field string, in specs.LinuxSyscall) SeccompRule {
	r := SeccompRule{Names: slices.Clone(in.Names)}
	if len(in.Names) == 0 || slices.Contains(in.Names, "") {
		c.fail(invalid(field+".names", "want one or more system call names"))
	}
	r.Action, r.Errno = c.seccompAction(field+".action", in.Action, in.ErrnoRet)
	for j, a := range in.Args {
		f := fmt.Sprintf("%s.args[%d]", field, j)
		if a.Index >= 6 {
			c.fail(invalid(f, "argument index %d: a system call has 6 arguments", a.Index))
		}
		if !slices.Contains(seccompOps, SeccompOp(a.Op)) {
			c.fail(invalid(f, "unknown comparison %q", a.Op))
		}
		r.Args = append(r.Args, SeccompArg{Index: uint32(min(a.Index, math.MaxUint32)), Value: a.Value, ValueTwo: a.ValueTwo, Op: SeccompOp(a.Op)})
	}
	return r
}

// seccompAction checks an action and its errno.
func (c *converter) seccompAction(field string, a specs.LinuxSeccompAction, errno *uint) (SeccompAction, *uint32) {
	if a == specs.ActKill {
		a = specs.ActKillThread
	}
	switch {
	case a == specs.ActNotify:
		c.fail(unsupported(field, "SCMP_ACT_NOTIFY needs a seccomp agent on the host, out of the guest's reach"))
	case !slices.Contains(seccompActions, SeccompAction(a)):
		c.fail(invalid(field, "unknown action %q", a))
	}
	if errno == nil {
		return SeccompAction(a), nil
	}
	switch {
	case a != specs.ActErrno && a != specs.ActTrace:
		c.fail(invalid(field, "an errnoRet goes only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s", a))
	case *errno > math.MaxUint16:
		c.fail(invalid(field, "errnoRet %d does not fit in 16 bits", *errno))
	}
	e := uint32(min(*errno, math.MaxUint32))
	return SeccompAction(a), &e
}

func (s *Seccomp) clone() *Seccomp {
	if s == nil {
		return nil
	}
	out := *s
	out.DefaultErrno = clonePtr(s.DefaultErrno)
	out.Architectures = slices.Clone(s.Architectures)
	out.Flags = slices.Clone(s.Flags)
	out.Syscalls = slices.Clone(s.Syscalls)
	for i, r := range out.Syscalls {
		out.Syscalls[i].Names = slices.Clone(r.Names)
		out.Syscalls[i].Errno = clonePtr(r.Errno)
		out.Syscalls[i].Args = slices.Clone(r.Args)
	}
	return &out
}
