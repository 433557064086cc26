package server

import (
	"fmt"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/seccomp"
)

// The protocol's seccomp enums as the compiler's; the unspecified values
// are absent, so they fail the lookup.
var (
	seccompActions = map[protocol.SeccompAction]seccomp.Action{
		protocol.SeccompAction_SECCOMP_ACTION_KILL_THREAD:  seccomp.ActKillThread,
		protocol.SeccompAction_SECCOMP_ACTION_KILL_PROCESS: seccomp.ActKillProcess,
		protocol.SeccompAction_SECCOMP_ACTION_TRAP:         seccomp.ActTrap,
		protocol.SeccompAction_SECCOMP_ACTION_ERRNO:        seccomp.ActErrno,
		protocol.SeccompAction_SECCOMP_ACTION_TRACE:        seccomp.ActTrace,
		protocol.SeccompAction_SECCOMP_ACTION_LOG:          seccomp.ActLog,
		protocol.SeccompAction_SECCOMP_ACTION_ALLOW:        seccomp.ActAllow,
	}
	seccompArches = map[protocol.SeccompArch]seccomp.Arch{
		protocol.SeccompArch_SECCOMP_ARCH_X86_64: seccomp.ArchX86_64,
		protocol.SeccompArch_SECCOMP_ARCH_X86:    seccomp.ArchX86,
		protocol.SeccompArch_SECCOMP_ARCH_X32:    seccomp.ArchX32,
	}
	seccompFlags = map[protocol.SeccompFlag]seccomp.Flag{
		protocol.SeccompFlag_SECCOMP_FLAG_TSYNC:      seccomp.FlagTSync,
		protocol.SeccompFlag_SECCOMP_FLAG_LOG:        seccomp.FlagLog,
		protocol.SeccompFlag_SECCOMP_FLAG_SPEC_ALLOW: seccomp.FlagSpecAllow,
	}
	seccompOps = map[protocol.SeccompOp]seccomp.Op{
		protocol.SeccompOp_SECCOMP_OP_NE: seccomp.OpNotEqual, protocol.SeccompOp_SECCOMP_OP_LT: seccomp.OpLess,
		protocol.SeccompOp_SECCOMP_OP_LE: seccomp.OpLessOrEqual, protocol.SeccompOp_SECCOMP_OP_EQ: seccomp.OpEqual,
		protocol.SeccompOp_SECCOMP_OP_GE: seccomp.OpGreaterOrEqual, protocol.SeccompOp_SECCOMP_OP_GT: seccomp.OpGreater,
		protocol.SeccompOp_SECCOMP_OP_MASKED_EQ: seccomp.OpMaskedEqual,
	}
)

// seccompFilter compiles the container's profile; nil when it has none.
// The names the guest's tables lack are logged at debug level and
// skipped, as runc does.
func (s *Service) seccompFilter(id string, p *protocol.Seccomp) (*seccomp.Filter, error) {
	if p == nil {
		return nil, nil
	}
	prof, err := seccompProfile(p)
	if err != nil {
		return nil, fmt.Errorf("%w: seccomp: %w", ErrInvalid, err)
	}
	f, skipped, err := seccomp.Compile(prof)
	if err != nil {
		return nil, fmt.Errorf("%w: seccomp: %w", ErrInvalid, err)
	}
	if len(skipped) > 0 {
		s.log.Debug("seccomp: unknown system calls skipped", "container", id, "syscalls", skipped)
	}
	return &f, nil
}

func seccompProfile(p *protocol.Seccomp) (seccomp.Profile, error) {
	var prof seccomp.Profile
	var ok bool
	if prof.DefaultAction, ok = seccompActions[p.GetDefaultAction()]; !ok {
		return prof, fmt.Errorf("default action %v", p.GetDefaultAction())
	}
	prof.DefaultErrno = p.DefaultErrno
	for i, a := range p.GetArchitectures() {
		arch, ok := seccompArches[a]
		if !ok {
			return prof, fmt.Errorf("architectures[%d]: %v", i, a)
		}
		prof.Architectures = append(prof.Architectures, arch)
	}
	for i, f := range p.GetFlags() {
		flag, ok := seccompFlags[f]
		if !ok {
			return prof, fmt.Errorf("flags[%d]: %v", i, f)
		}
		prof.Flags = append(prof.Flags, flag)
	}
	for i, r := range p.GetSyscalls() {
		rule := seccomp.Rule{Names: r.GetNames(), Errno: r.Errno}
		if rule.Action, ok = seccompActions[r.GetAction()]; !ok {
			return prof, fmt.Errorf("syscalls[%d]: action %v", i, r.GetAction())
		}
		for j, a := range r.GetArgs() {
			op, ok := seccompOps[a.GetOp()]
			if !ok {
				return prof, fmt.Errorf("syscalls[%d].args[%d]: comparison %v", i, j, a.GetOp())
			}
			rule.Args = append(rule.Args, seccomp.Arg{Index: a.GetIndex(), Op: op, Value: a.GetValue(), ValueTwo: a.GetValueTwo()})
		}
		prof.Rules = append(prof.Rules, rule)
	}
	return prof, nil
}
