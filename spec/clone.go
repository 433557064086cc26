package spec

import (
	"maps"
	"slices"
)

// Clone returns a deep copy of c: the engine edits its own copy (mount
// sources, the environment, stdin) and leaves the converted spec as the
// front end gave it. Nil stays nil, and so do nil slices and maps.
func (c *Container) Clone() *Container {
	if c == nil {
		return nil
	}
	out := *c
	out.Process = c.Process.Clone()
	out.Mounts = slices.Clone(c.Mounts)
	for i, m := range out.Mounts {
		out.Mounts[i].Options = slices.Clone(m.Options)
		out.Mounts[i].Host = m.Host.clone()
	}
	out.Devices = slices.Clone(c.Devices)
	out.VFIONodes = slices.Clone(c.VFIONodes)
	out.MaskedPaths = slices.Clone(c.MaskedPaths)
	out.ReadonlyPaths = slices.Clone(c.ReadonlyPaths)
	out.Resources = c.Resources.clone()
	out.Sysctls = maps.Clone(c.Sysctls)
	out.Seccomp = c.Seccomp.clone()
	out.Annotations = maps.Clone(c.Annotations)
	out.Ignored = slices.Clone(c.Ignored)
	out.Hooks = c.Hooks.clone()
	if c.UserNS != nil {
		out.UserNS = &UserNS{UIDMappings: slices.Clone(c.UserNS.UIDMappings), GIDMappings: slices.Clone(c.UserNS.GIDMappings)}
	}
	return &out
}

func (h *Hooks) clone() *Hooks {
	if h == nil {
		return nil
	}
	list := func(in []Hook) []Hook {
		out := slices.Clone(in)
		for i, x := range out {
			out[i].Args, out[i].Env = slices.Clone(x.Args), slices.Clone(x.Env)
		}
		return out
	}
	return &Hooks{Prestart: list(h.Prestart), CreateRuntime: list(h.CreateRuntime), CreateContainer: list(h.CreateContainer),
		StartContainer: list(h.StartContainer), Poststart: list(h.Poststart), Poststop: list(h.Poststop)}
}

// Clone returns a deep copy of p.
func (p *Process) Clone() *Process {
	if p == nil {
		return nil
	}
	out := *p
	out.Args = slices.Clone(p.Args)
	out.Env = slices.Clone(p.Env)
	out.ConsoleSize = clonePtr(p.ConsoleSize)
	out.User.AdditionalGIDs = slices.Clone(p.User.AdditionalGIDs)
	out.User.Umask = clonePtr(p.User.Umask)
	out.Rlimits = slices.Clone(p.Rlimits)
	if p.Capabilities != nil {
		caps := *p.Capabilities
		for _, set := range []*[]string{&caps.Bounding, &caps.Effective, &caps.Inheritable, &caps.Permitted, &caps.Ambient} {
			*set = slices.Clone(*set)
		}
		out.Capabilities = &caps
	}
	out.OOMScoreAdj = clonePtr(p.OOMScoreAdj)
	return &out
}

func (h *HostSource) clone() *HostSource {
	if h == nil {
		return nil
	}
	out := *h
	out.Options = slices.Clone(h.Options)
	return &out
}

func (r *Resources) clone() *Resources {
	if r == nil {
		return nil
	}
	out := *r
	out.CPUShares = clonePtr(r.CPUShares)
	out.CPUQuota = clonePtr(r.CPUQuota)
	out.CPUPeriod = clonePtr(r.CPUPeriod)
	out.MemoryLimit = clonePtr(r.MemoryLimit)
	out.PidsLimit = clonePtr(r.PidsLimit)
	out.Devices = slices.Clone(r.Devices)
	for i, d := range out.Devices {
		out.Devices[i].Major, out.Devices[i].Minor = clonePtr(d.Major), clonePtr(d.Minor)
	}
	return &out
}

// clonePtr copies what p points to; nil stays nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
