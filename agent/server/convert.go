package server

import (
	"fmt"
	"math"
	"strings"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/cgroup"
	"github.com/kite-vm/kite/agent/server/container"
)

// processSpec converts a process; the container package validates the
// rest (paths, capabilities, rlimit ranges).
func processSpec(p *protocol.Process) (container.ProcessSpec, error) {
	if p == nil {
		return container.ProcessSpec{}, fmt.Errorf("%w: no process", ErrInvalid)
	}
	cwd := p.GetCwd()
	if cwd == "" {
		cwd = "/"
	}
	spec := container.ProcessSpec{
		Args:            p.GetArgs(),
		Env:             p.GetEnv(),
		Cwd:             cwd,
		UID:             p.GetUser().GetUid(),
		GID:             p.GetUser().GetGid(),
		AdditionalGIDs:  p.GetUser().GetAdditionalGids(),
		Terminal:        p.GetTerminal(),
		Stdin:           p.GetStdin(),
		NoNewPrivileges: p.GetNoNewPrivileges(),
	}
	if p.GetUser() != nil && p.GetUser().Umask != nil {
		u := p.GetUser().GetUmask()
		spec.Umask = &u
	}
	if cs := p.GetConsoleSize(); cs != nil {
		if cs.GetHeight() > math.MaxUint16 || cs.GetWidth() > math.MaxUint16 {
			return spec, fmt.Errorf("%w: console size %dx%d", ErrInvalid, cs.GetWidth(), cs.GetHeight())
		}
		spec.ConsoleSize = &container.WinSize{Rows: uint16(cs.GetHeight()), Cols: uint16(cs.GetWidth())}
	}
	for _, rl := range p.GetRlimits() {
		name, ok := protocol.RlimitType_name[int32(rl.GetType())]
		if !ok || rl.GetType() == protocol.RlimitType_RLIMIT_TYPE_UNSPECIFIED {
			return spec, fmt.Errorf("%w: rlimit type %v", ErrInvalid, rl.GetType())
		}
		spec.Rlimits = append(spec.Rlimits, container.Rlimit{
			Type: "RLIMIT_" + strings.TrimPrefix(name, "RLIMIT_TYPE_"), Hard: rl.GetHard(), Soft: rl.GetSoft(),
		})
	}
	if c := p.GetCapabilities(); c != nil {
		spec.Capabilities = container.Capabilities{
			Bounding: c.GetBounding(), Effective: c.GetEffective(), Inheritable: c.GetInheritable(),
			Permitted: c.GetPermitted(), Ambient: c.GetAmbient(),
		}
	}
	if p.OomScoreAdj != nil {
		v := int(p.GetOomScoreAdj())
		spec.OOMScoreAdj = &v
	}
	if err := spec.Validate(); err != nil {
		return spec, err
	}
	return spec, nil
}

// resourcesOf converts cgroup limits; nil fields stay unset.
func resourcesOf(r *protocol.Resources) cgroup.Resources {
	if r == nil {
		return cgroup.Resources{}
	}
	return cgroup.Resources{
		CPUShares:  r.CpuShares,
		CPUQuota:   r.CpuQuota,
		CPUPeriod:  r.CpuPeriod,
		CpusetCPUs: r.CpusetCpus,
		Memory:     r.MemoryLimit,
		Pids:       r.PidsLimit,
	}
}

// namespaceMode checks a namespace choice.
func namespaceMode(kind string, m protocol.NamespaceMode) (protocol.NamespaceMode, error) {
	switch m {
	case protocol.NamespaceMode_NAMESPACE_MODE_UNSPECIFIED, protocol.NamespaceMode_NAMESPACE_MODE_NEW:
		return protocol.NamespaceMode_NAMESPACE_MODE_NEW, nil
	case protocol.NamespaceMode_NAMESPACE_MODE_SANDBOX:
		return m, nil
	}
	return 0, fmt.Errorf("%w: %s namespace mode %v", ErrInvalid, kind, m)
}

// cgroupNamespace chooses the cgroup namespace: the sandbox's is the
// guest's own, since the VM is the pod. (The pid, IPC and UTS namespaces
// are the sandbox's first container's, see sandboxNamespace.)
func cgroupNamespace(m protocol.NamespaceMode) (container.Namespace, error) {
	mode, err := namespaceMode("cgroup", m)
	if err != nil {
		return container.Namespace{}, err
	}
	if mode == protocol.NamespaceMode_NAMESPACE_MODE_SANDBOX {
		return container.Namespace{Mode: container.NamespaceHost}, nil
	}
	return container.Namespace{Mode: container.NamespaceNew}, nil
}

// idMaps converts a user namespace's mappings.
func idMaps(ms []*protocol.IDMapping) []container.IDMap {
	out := make([]container.IDMap, 0, len(ms))
	for _, m := range ms {
		out = append(out, container.IDMap{ContainerID: m.GetContainerId(), HostID: m.GetHostId(), Size: m.GetSize()})
	}
	return out
}
