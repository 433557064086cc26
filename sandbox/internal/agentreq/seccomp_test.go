package agentreq

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/spec"
	"google.golang.org/protobuf/testing/protocmp"
)

func TestSeccomp(t *testing.T) {
	in := &spec.Seccomp{
		DefaultAction: "SCMP_ACT_ERRNO", DefaultErrno: ptr[uint32](1),
		Architectures: []spec.SeccompArch{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
		Flags:         []spec.SeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"},
		Syscalls: []spec.SeccompRule{
			{Names: []string{"read", "write"}, Action: "SCMP_ACT_ALLOW"},
			{Names: []string{"clone"}, Action: "SCMP_ACT_ERRNO", Errno: ptr[uint32](38), Args: []spec.SeccompArg{
				{Index: 0, Value: 0x10000000, ValueTwo: 0x10000000, Op: "SCMP_CMP_MASKED_EQ"}, {Index: 1, Value: 5, Op: "SCMP_CMP_NE"},
				{Index: 2, Value: 6, Op: "SCMP_CMP_LT"}, {Index: 3, Value: 7, Op: "SCMP_CMP_LE"}, {Index: 4, Value: 8, Op: "SCMP_CMP_GE"},
				{Index: 5, Value: 9, Op: "SCMP_CMP_GT"}, {Index: 5, Value: 10, Op: "SCMP_CMP_EQ"},
			}},
			{Names: []string{"a"}, Action: "SCMP_ACT_KILL_THREAD"}, {Names: []string{"b"}, Action: "SCMP_ACT_KILL_PROCESS"},
			{Names: []string{"c"}, Action: "SCMP_ACT_TRAP"}, {Names: []string{"d"}, Action: "SCMP_ACT_TRACE"},
			{Names: []string{"e"}, Action: "SCMP_ACT_LOG"},
		},
	}
	got, err := Seccomp(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &protocol.Seccomp{
		DefaultAction: protocol.SeccompAction_SECCOMP_ACTION_ERRNO, DefaultErrno: ptr[uint32](1),
		Architectures: []protocol.SeccompArch{protocol.SeccompArch_SECCOMP_ARCH_X86_64, protocol.SeccompArch_SECCOMP_ARCH_X86, protocol.SeccompArch_SECCOMP_ARCH_X32},
		Flags:         []protocol.SeccompFlag{protocol.SeccompFlag_SECCOMP_FLAG_TSYNC, protocol.SeccompFlag_SECCOMP_FLAG_LOG, protocol.SeccompFlag_SECCOMP_FLAG_SPEC_ALLOW},
		Syscalls: []*protocol.SeccompRule{
			{Names: []string{"read", "write"}, Action: protocol.SeccompAction_SECCOMP_ACTION_ALLOW},
			{Names: []string{"clone"}, Action: protocol.SeccompAction_SECCOMP_ACTION_ERRNO, Errno: ptr[uint32](38), Args: []*protocol.SeccompArg{
				{Index: 0, Value: 0x10000000, ValueTwo: 0x10000000, Op: protocol.SeccompOp_SECCOMP_OP_MASKED_EQ},
				{Index: 1, Value: 5, Op: protocol.SeccompOp_SECCOMP_OP_NE}, {Index: 2, Value: 6, Op: protocol.SeccompOp_SECCOMP_OP_LT},
				{Index: 3, Value: 7, Op: protocol.SeccompOp_SECCOMP_OP_LE}, {Index: 4, Value: 8, Op: protocol.SeccompOp_SECCOMP_OP_GE},
				{Index: 5, Value: 9, Op: protocol.SeccompOp_SECCOMP_OP_GT}, {Index: 5, Value: 10, Op: protocol.SeccompOp_SECCOMP_OP_EQ},
			}},
			{Names: []string{"a"}, Action: protocol.SeccompAction_SECCOMP_ACTION_KILL_THREAD},
			{Names: []string{"b"}, Action: protocol.SeccompAction_SECCOMP_ACTION_KILL_PROCESS},
			{Names: []string{"c"}, Action: protocol.SeccompAction_SECCOMP_ACTION_TRAP},
			{Names: []string{"d"}, Action: protocol.SeccompAction_SECCOMP_ACTION_TRACE},
			{Names: []string{"e"}, Action: protocol.SeccompAction_SECCOMP_ACTION_LOG},
		},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The request shares no memory with the spec.
	*in.DefaultErrno, in.Syscalls[0].Names[0] = 9, "changed"
	if got.GetDefaultErrno() != 1 || got.Syscalls[0].Names[0] != "read" {
		t.Error("the request aliases the spec")
	}
	if none, err := Seccomp(nil); none != nil || err != nil {
		t.Errorf("Seccomp(nil) = %v, %v", none, err)
	}
}

func TestSeccompRefusesUnknownNames(t *testing.T) {
	for _, s := range []*spec.Seccomp{
		{DefaultAction: "SCMP_ACT_NOTIFY"},
		{DefaultAction: "SCMP_ACT_ALLOW", Architectures: []spec.SeccompArch{"SCMP_ARCH_AARCH64"}},
		{DefaultAction: "SCMP_ACT_ALLOW", Flags: []spec.SeccompFlag{"SECCOMP_FILTER_FLAG_NEW_LISTENER"}},
		{DefaultAction: "SCMP_ACT_ALLOW", Syscalls: []spec.SeccompRule{{Names: []string{"x"}, Action: "SCMP_ACT_ALLOW", Args: []spec.SeccompArg{{Op: "SCMP_CMP_LIKE"}}}}},
	} {
		if _, err := Seccomp(s); err == nil || !strings.Contains(err.Error(), "has no protocol equivalent") {
			t.Errorf("Seccomp(%+v) = %v, want a refusal", s, err)
		}
	}
}
