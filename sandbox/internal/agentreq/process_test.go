package agentreq

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/spec"
	"google.golang.org/protobuf/testing/protocmp"
)

func TestProcess(t *testing.T) {
	tests := []struct {
		name string
		in   *spec.Process
		want *protocol.Process
	}{
		{"nil", nil, nil},
		{"zero: a user all the same", &spec.Process{}, &protocol.Process{User: &protocol.User{}}},
		{"every field", &spec.Process{
			Args: []string{"/bin/server", "--port", "8080"}, Env: []string{"PATH=/bin"}, Cwd: "/srv", Terminal: true,
			ConsoleSize: &spec.ConsoleSize{Height: 40, Width: 120},
			User:        spec.User{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{10, 20}, Umask: ptr[uint32](0o22)},
			Rlimits: []spec.Rlimit{
				{Type: spec.RlimitNoFile, Hard: 4096, Soft: 1024}, {Type: spec.RlimitCore},
				{Type: spec.RlimitRTTime, Hard: ^uint64(0), Soft: ^uint64(0)},
			},
			NoNewPrivileges: true,
			Capabilities: &spec.Capabilities{Bounding: []string{"CAP_A"}, Effective: []string{"CAP_B"},
				Inheritable: []string{"CAP_C"}, Permitted: []string{"CAP_D", "CAP_C"}, Ambient: []string{"CAP_C"}},
			Stdin: true, OOMScoreAdj: ptr[int32](-500),
		}, &protocol.Process{
			Args: []string{"/bin/server", "--port", "8080"}, Env: []string{"PATH=/bin"}, Cwd: "/srv", Terminal: true,
			ConsoleSize: &protocol.ConsoleSize{Height: 40, Width: 120},
			User:        &protocol.User{Uid: 1000, Gid: 1000, AdditionalGids: []uint32{10, 20}, Umask: ptr[uint32](0o22)},
			Rlimits: []*protocol.Rlimit{
				{Type: protocol.RlimitType_RLIMIT_TYPE_NOFILE, Hard: 4096, Soft: 1024}, {Type: protocol.RlimitType_RLIMIT_TYPE_CORE},
				{Type: protocol.RlimitType_RLIMIT_TYPE_RTTIME, Hard: ^uint64(0), Soft: ^uint64(0)},
			},
			NoNewPrivileges: true,
			Capabilities: &protocol.Capabilities{Bounding: []string{"CAP_A"}, Effective: []string{"CAP_B"},
				Inheritable: []string{"CAP_C"}, Permitted: []string{"CAP_D", "CAP_C"}, Ambient: []string{"CAP_C"}},
			Stdin: true, OomScoreAdj: ptr[int32](-500),
		}},
		{"unknown rlimit goes unspecified, for the agent to refuse", &spec.Process{Rlimits: []spec.Rlimit{{Type: "RLIMIT_FOO"}, {Type: "NOFILE"}}},
			&protocol.Process{User: &protocol.User{}, Rlimits: []*protocol.Rlimit{{}, {}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Process(tt.in), protocmp.Transform()); diff != "" {
				t.Errorf("process (-want +got):\n%s", diff)
			}
		})
	}
}

// spec.Convert accepts exactly the rlimits the protocol can carry: each
// maps to a type of its own, and every type the protocol has is accepted.
func TestRlimitTypesMatchProtocol(t *testing.T) {
	seen := map[protocol.RlimitType]spec.RlimitType{}
	for _, st := range spec.RlimitTypes() {
		pt := rlimitType(st)
		if pt == protocol.RlimitType_RLIMIT_TYPE_UNSPECIFIED {
			t.Errorf("%s has no protocol type", st)
			continue
		}
		if other, ok := seen[pt]; ok {
			t.Errorf("%s and %s both map to %s", st, other, pt)
		}
		seen[pt] = st
	}
	for v, name := range protocol.RlimitType_name {
		pt := protocol.RlimitType(v)
		if _, ok := seen[pt]; !ok && pt != protocol.RlimitType_RLIMIT_TYPE_UNSPECIFIED {
			t.Errorf("the protocol's %s is not in spec.RlimitTypes", name)
		}
	}
	if !slices.Contains(spec.RlimitTypes(), spec.RlimitNoFile) {
		t.Error("spec.RlimitTypes has no RLIMIT_NOFILE")
	}
}
