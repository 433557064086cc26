package agentreq

import (
	"slices"
	"strings"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/spec"
)

// Process builds the agent's process from p (nil for nil), for a
// container's init process or an exec. The result shares no memory with
// p.
func Process(p *spec.Process) *protocol.Process {
	if p == nil {
		return nil
	}
	out := &protocol.Process{
		Args:            slices.Clone(p.Args),
		Env:             slices.Clone(p.Env),
		Cwd:             p.Cwd,
		Terminal:        p.Terminal,
		User:            user(p.User),
		Rlimits:         rlimits(p.Rlimits),
		NoNewPrivileges: p.NoNewPrivileges,
		Capabilities:    capabilities(p.Capabilities),
		Stdin:           p.Stdin,
	}
	if cs := p.ConsoleSize; cs != nil {
		out.ConsoleSize = &protocol.ConsoleSize{Height: uint32(cs.Height), Width: uint32(cs.Width)}
	}
	if p.OOMScoreAdj != nil {
		adj := *p.OOMScoreAdj
		out.OomScoreAdj = &adj
	}
	return out
}

func user(u spec.User) *protocol.User {
	out := &protocol.User{Uid: u.UID, Gid: u.GID, AdditionalGids: slices.Clone(u.AdditionalGIDs)}
	if u.Umask != nil {
		umask := *u.Umask
		out.Umask = &umask
	}
	return out
}

func rlimits(rls []spec.Rlimit) []*protocol.Rlimit {
	var out []*protocol.Rlimit
	for _, rl := range rls {
		out = append(out, &protocol.Rlimit{Type: rlimitType(rl.Type), Hard: rl.Hard, Soft: rl.Soft})
	}
	return out
}

// rlimitType maps "RLIMIT_NOFILE" to RLIMIT_TYPE_NOFILE. spec.Convert
// accepts only the types in spec.RlimitTypes, each of which the protocol
// has (a test holds both lists together); any other is sent unspecified,
// which the agent refuses.
func rlimitType(t spec.RlimitType) protocol.RlimitType {
	suffix, ok := strings.CutPrefix(string(t), "RLIMIT_")
	if !ok {
		return protocol.RlimitType_RLIMIT_TYPE_UNSPECIFIED
	}
	return protocol.RlimitType(protocol.RlimitType_value["RLIMIT_TYPE_"+suffix])
}

func capabilities(c *spec.Capabilities) *protocol.Capabilities {
	if c == nil {
		return nil
	}
	return &protocol.Capabilities{
		Bounding:    slices.Clone(c.Bounding),
		Effective:   slices.Clone(c.Effective),
		Inheritable: slices.Clone(c.Inheritable),
		Permitted:   slices.Clone(c.Permitted),
		Ambient:     slices.Clone(c.Ambient),
	}
}
