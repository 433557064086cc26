package oci

import (
	"fmt"

	"github.com/kite-vm/kite/agent/protocol"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// namespaces maps linux.namespaces onto the guest's choices. A kind the
// spec leaves out is shared with the runtime, which in the guest is the
// sandbox; a kind with a path joins another container's, which in a VM
// can only be a container of the same sandbox.
func (c *converter) namespaces(nss []specs.LinuxNamespace) *protocol.Namespaces {
	const sandbox = protocol.NamespaceMode_NAMESPACE_MODE_SANDBOX
	out := &protocol.Namespaces{Pid: sandbox, Uts: sandbox, Ipc: sandbox, Cgroup: sandbox}
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range nss {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		if seen[ns.Type] {
			c.fail(invalid(field, "namespace type %q is given twice", ns.Type))
			continue
		}
		seen[ns.Type] = true
		mode := protocol.NamespaceMode_NAMESPACE_MODE_NEW
		if ns.Path != "" {
			mode = sandbox
		}
		switch ns.Type {
		case specs.PIDNamespace:
			out.Pid = mode
		case specs.UTSNamespace:
			out.Uts, c.joinsUTS = mode, ns.Path != ""
		case specs.IPCNamespace:
			out.Ipc = mode
		case specs.CgroupNamespace:
			out.Cgroup = mode
		default:
			c.otherNamespace(field, ns)
		}
	}
	return out
}

// otherNamespace handles the kinds the protocol has no choice for.
func (c *converter) otherNamespace(field string, ns specs.LinuxNamespace) {
	switch ns.Type {
	case specs.NetworkNamespace:
		// The VM is the network boundary: every container uses the
		// guest's network namespace, into which the runtime carries the
		// interfaces of the pod's (the one named here).
		c.netns = ns.Path
	case specs.MountNamespace:
		// Always new in the guest; joining one is meaningless there.
		if ns.Path != "" {
			c.ignore(field, "mount namespace "+ns.Path+": the container always gets a new one in the guest")
		}
	case specs.UserNamespace:
		c.fail(unsupported(field, "user namespaces are not supported"))
	case specs.TimeNamespace:
		c.fail(unsupported(field, "time namespaces are not supported"))
	default:
		c.fail(invalid(field, "unknown namespace type %q", ns.Type))
	}
}
