package spec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkTopLevel refuses or ignores the spec's fields outside process,
// root, mounts and linux.
func (c *converter) checkTopLevel(spec *specs.Spec) {
	if spec.Domainname != "" {
		c.fail(unsupported("domainname", "setting the NIS domain name is not supported"))
	}
	for _, p := range []field{
		{"windows", spec.Windows != nil}, {"solaris", spec.Solaris != nil},
		{"zos", spec.ZOS != nil}, {"freebsd", spec.FreeBSD != nil},
	} {
		if p.set {
			c.fail(unsupported(p.name, "Kite runs Linux containers only"))
		}
	}
	if spec.VM != nil {
		c.fail(unsupported("vm", "Kite picks the hypervisor, kernel and image from its configuration"))
	}
}

// checkLinux refuses what the guest cannot do and ignores host policy.
func (c *converter) checkLinux(lin *specs.Linux) {
	if len(lin.NetDevices) > 0 {
		c.fail(unsupported("linux.netDevices", "moving host network devices into the container is not supported yet"))
	}
	if len(lin.TimeOffsets) > 0 {
		c.fail(unsupported("linux.timeOffsets", "time namespaces are not supported"))
	}
	if p := lin.Personality; p != nil && (p.Domain != specs.PerLinux || len(p.Flags) > 0) {
		c.fail(unsupported("linux.personality", "only the LINUX domain without flags is supported"))
	}
	ignoreFields(c.findings, "linux.", "the guest has no such policy; the VM is the boundary", []field{
		{"mountLabel", lin.MountLabel != ""},
	})
	ignoreFields(c.findings, "linux.", "host placement of the VM; not applied yet", []field{
		{"intelRdt", lin.IntelRdt != nil},
		{"memoryPolicy", lin.MemoryPolicy != nil},
	})
	ignoreFields(c.findings, "linux.", "the guest decides the root's propagation", []field{
		{"rootfsPropagation", lin.RootfsPropagation != ""},
	})
}
