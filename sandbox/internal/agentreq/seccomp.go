package agentreq

import (
	"fmt"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/spec"
)

// The OCI names spec.Convert accepts, as the protocol's enums.
var (
	seccompActions = map[spec.SeccompAction]protocol.SeccompAction{
		"SCMP_ACT_KILL_THREAD":  protocol.SeccompAction_SECCOMP_ACTION_KILL_THREAD,
		"SCMP_ACT_KILL_PROCESS": protocol.SeccompAction_SECCOMP_ACTION_KILL_PROCESS,
		"SCMP_ACT_TRAP":         protocol.SeccompAction_SECCOMP_ACTION_TRAP,
		"SCMP_ACT_ERRNO":        protocol.SeccompAction_SECCOMP_ACTION_ERRNO,
		"SCMP_ACT_TRACE":        protocol.SeccompAction_SECCOMP_ACTION_TRACE,
		"SCMP_ACT_LOG":          protocol.SeccompAction_SECCOMP_ACTION_LOG,
		"SCMP_ACT_ALLOW":        protocol.SeccompAction_SECCOMP_ACTION_ALLOW,
	}
	seccompArches = map[spec.SeccompArch]protocol.SeccompArch{
		"SCMP_ARCH_X86_64": protocol.SeccompArch_SECCOMP_ARCH_X86_64,
		"SCMP_ARCH_X86":    protocol.SeccompArch_SECCOMP_ARCH_X86,
		"SCMP_ARCH_X32":    protocol.SeccompArch_SECCOMP_ARCH_X32,
	}
	seccompFlags = map[spec.SeccompFlag]protocol.SeccompFlag{
		"SECCOMP_FILTER_FLAG_TSYNC":      protocol.SeccompFlag_SECCOMP_FLAG_TSYNC,
		"SECCOMP_FILTER_FLAG_LOG":        protocol.SeccompFlag_SECCOMP_FLAG_LOG,
		"SECCOMP_FILTER_FLAG_SPEC_ALLOW": protocol.SeccompFlag_SECCOMP_FLAG_SPEC_ALLOW,
	}
	seccompOps = map[spec.SeccompOp]protocol.SeccompOp{
		"SCMP_CMP_NE": protocol.SeccompOp_SECCOMP_OP_NE, "SCMP_CMP_LT": protocol.SeccompOp_SECCOMP_OP_LT,
		"SCMP_CMP_LE": protocol.SeccompOp_SECCOMP_OP_LE, "SCMP_CMP_EQ": protocol.SeccompOp_SECCOMP_OP_EQ,
		"SCMP_CMP_GE": protocol.SeccompOp_SECCOMP_OP_GE, "SCMP_CMP_GT": protocol.SeccompOp_SECCOMP_OP_GT,
		"SCMP_CMP_MASKED_EQ": protocol.SeccompOp_SECCOMP_OP_MASKED_EQ,
	}
)

// Seccomp converts the container's seccomp profile; nil stays nil. A name
// spec.Convert would not have accepted is an error, naming the field.
func Seccomp(s *spec.Seccomp) (*protocol.Seccomp, error) {
	if s == nil {
		return nil, nil
	}
	lookup := func(field string, ok bool, name any) error {
		if !ok {
			return fmt.Errorf("seccomp %s %q has no protocol equivalent", field, name)
		}
		return nil
	}
	def, ok := seccompActions[s.DefaultAction]
	if err := lookup("defaultAction", ok, s.DefaultAction); err != nil {
		return nil, err
	}
	out := &protocol.Seccomp{DefaultAction: def, DefaultErrno: copyUint32(s.DefaultErrno)}
	for _, a := range s.Architectures {
		pa, ok := seccompArches[a]
		if err := lookup("architecture", ok, a); err != nil {
			return nil, err
		}
		out.Architectures = append(out.Architectures, pa)
	}
	for _, f := range s.Flags {
		pf, ok := seccompFlags[f]
		if err := lookup("flag", ok, f); err != nil {
			return nil, err
		}
		out.Flags = append(out.Flags, pf)
	}
	for _, r := range s.Syscalls {
		act, ok := seccompActions[r.Action]
		if err := lookup("action", ok, r.Action); err != nil {
			return nil, err
		}
		pr := &protocol.SeccompRule{Names: append([]string(nil), r.Names...), Action: act, Errno: copyUint32(r.Errno)}
		for _, a := range r.Args {
			op, ok := seccompOps[a.Op]
			if err := lookup("comparison", ok, a.Op); err != nil {
				return nil, err
			}
			pr.Args = append(pr.Args, &protocol.SeccompArg{Index: a.Index, Value: a.Value, ValueTwo: a.ValueTwo, Op: op})
		}
		out.Syscalls = append(out.Syscalls, pr)
	}
	return out, nil
}

func copyUint32(p *uint32) *uint32 {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
