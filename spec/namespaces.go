package spec

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// NamespaceMode says whether a container gets a namespace of its own or
// the sandbox's. The zero value is unset: the agent then gives the
// container its own, but Convert always says which.
type NamespaceMode int

const (
	// NamespaceNew gives the container a namespace of its own.
	NamespaceNew NamespaceMode = iota + 1
	// NamespaceSandbox shares the sandbox's namespace of that kind, as
	// every container that asks for it does (a pod's IPC and UTS, or
	// shareProcessNamespace's PID).
	NamespaceSandbox
)

var namespaceModeNames = []string{"", "new", "sandbox"}

func (m NamespaceMode) String() string { return enumString(m, namespaceModeNames) }

// MarshalText writes the mode's name.
func (m NamespaceMode) MarshalText() ([]byte, error) { return enumText(m, namespaceModeNames) }

// UnmarshalText reads a name MarshalText writes.
func (m *NamespaceMode) UnmarshalText(text []byte) (err error) {
	*m, err = parseEnum[NamespaceMode](text, namespaceModeNames)
	return err
}

// Namespaces are the kinds of namespace the guest lets a container choose.
// The others are fixed by the VM: the network namespace is the guest's,
// the mount namespace always new, time namespaces refused; a user
// namespace is the container's own (Container.UserNS) or the guest's.
type Namespaces struct {
	PID, UTS, IPC, Cgroup NamespaceMode
}

// namespaces maps linux.namespaces onto the guest's choices. A kind with
// a path joins another container's, which in a VM can only be a container
// of the same sandbox. A kind the spec leaves out is the runtime's, the
// host's: the pid, UTS and cgroup namespaces are then the sandbox's, but
// the host's IPC namespace (hostIPC) and network (hostNetwork) are refused,
// since a VM cannot give them to its containers and accepting them would
// quietly give something else.
func (c *converter) namespaces(nss []specs.LinuxNamespace) Namespaces {
	out := Namespaces{PID: NamespaceSandbox, UTS: NamespaceSandbox, IPC: NamespaceSandbox, Cgroup: NamespaceSandbox}
	seen := map[specs.LinuxNamespaceType]bool{}
	for i, ns := range nss {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		if seen[ns.Type] {
			c.fail(invalid(field, "namespace type %q is given twice", ns.Type))
			continue
		}
		seen[ns.Type] = true
		mode := NamespaceNew
		if ns.Path != "" {
			mode = NamespaceSandbox
		}
		switch ns.Type {
		case specs.PIDNamespace:
			out.PID = mode
		case specs.UTSNamespace:
			out.UTS, c.joinsUTS = mode, ns.Path != ""
		case specs.IPCNamespace:
			out.IPC = mode
		case specs.CgroupNamespace:
			out.Cgroup = mode
		default:
			c.otherNamespace(field, ns)
		}
	}
	if !seen[specs.IPCNamespace] {
		c.fail(unsupported("linux.namespaces", `no ipc namespace: the container would share the host's IPC namespace (hostIPC), which a VM cannot give it; add {"type": "ipc"}`))
	}
	if !seen[specs.NetworkNamespace] {
		c.fail(unsupported("linux.namespaces", `no network namespace: the container would use the host's network (hostNetwork), which a VM cannot share; name the pod's network namespace, or add {"type": "network"} for none`))
	}
	return out
}

// otherNamespace handles the kinds the guest offers no choice for.
func (c *converter) otherNamespace(field string, ns specs.LinuxNamespace) {
	switch ns.Type {
	case specs.NetworkNamespace:
		// The VM is the network boundary: every container uses the
		// guest's network namespace, into which the engine carries the
		// interfaces of the pod's (the one named here).
		c.netns = ns.Path
	case specs.MountNamespace:
		// Always new in the guest; joining one is meaningless there.
		if ns.Path != "" {
			c.ignore(field, "mount namespace "+ns.Path+": the container always gets a new one in the guest")
		}
	case specs.UserNamespace:
		if ns.Path != "" {
			c.fail(unsupported(field, "joining user namespace %s (a pod's shared one: Kubernetes hostUsers: false) is not supported yet; a container may have one of its own, with linux.uidMappings and linux.gidMappings", ns.Path))
			return
		}
		c.userNS = true
	case specs.TimeNamespace:
		c.fail(unsupported(field, "time namespaces are not supported"))
	default:
		c.fail(invalid(field, "unknown namespace type %q", ns.Type))
	}
}

// userNamespace converts the user namespace and its mappings: both or
// neither, as runc wants them.
func (c *converter) userNamespace(lin *specs.Linux) *UserNS {
	maps := len(lin.UIDMappings) > 0 || len(lin.GIDMappings) > 0
	switch {
	case !c.userNS && maps:
		c.fail(invalid("linux.uidMappings", "ID mappings without a user namespace: add {\"type\": \"user\"} to linux.namespaces"))
		return nil
	case !c.userNS:
		return nil
	case len(lin.UIDMappings) == 0 || len(lin.GIDMappings) == 0:
		c.fail(invalid("linux.namespaces", "a new user namespace needs both linux.uidMappings and linux.gidMappings"))
		return nil
	}
	return &UserNS{UIDMappings: c.idMappings("linux.uidMappings", lin.UIDMappings), GIDMappings: c.idMappings("linux.gidMappings", lin.GIDMappings)}
}

func (c *converter) idMappings(field string, ms []specs.LinuxIDMapping) []IDMapping {
	out := make([]IDMapping, 0, len(ms))
	root := false
	for i, m := range ms {
		if m.Size == 0 {
			c.fail(invalid(fmt.Sprintf("%s[%d]", field, i), "size 0"))
		}
		if m.ContainerID == 0 && m.Size > 0 {
			root = true
		}
		out = append(out, IDMapping{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
	}
	if !root {
		c.fail(unsupported(field, "container ID 0 is not mapped; the guest sets the container up as its root"))
	}
	return out
}
