package spec

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Input is what Convert needs besides the spec.
type Input struct {
	// ContainerID is the container's id, also the id of its init process.
	ContainerID string
	// Bundle is the absolute path of the bundle directory.
	Bundle string
}

// converter accumulates the ignored fields and the refusals of one
// conversion, so that a spec is fixed in one pass.
type converter struct {
	*findings
	// netns is the network namespace path linux.namespaces names.
	netns string
	// userNS: linux.namespaces asks for a new user namespace.
	userNS bool
	// joinsUTS: linux.namespaces names a UTS namespace to join, which the
	// guest maps to the sandbox's.
	joinsUTS bool
}

// findings are what a conversion drops and refuses; the converters of
// the spec's parts share them.
type findings struct {
	ignored []string
	errs    []error
}

func (f *findings) ignore(field, why string) {
	f.ignored = append(f.ignored, field+" ("+why+")")
}

func (f *findings) fail(err error) { f.errs = append(f.errs, err) }

func (f *findings) err() error { return errors.Join(f.errs...) }

// processConverter converts a process; resourceConverter the cgroup
// limits.
type (
	processConverter  struct{ *findings }
	resourceConverter struct{ *findings }
)

// Convert turns a spec Load accepted into a Container. It refuses, naming
// each field (errors are *FieldError, joined), what the guest cannot
// honour. The Container shares no memory with the spec.
func Convert(spec *specs.Spec, in Input) (*Container, error) {
	if in.ContainerID == "" {
		return nil, errors.New("converting the bundle: the container id is empty")
	}
	if !filepath.IsAbs(in.Bundle) {
		return nil, fmt.Errorf("converting bundle %q: the bundle path must be absolute", in.Bundle)
	}
	if err := checkFields(spec); err != nil {
		return nil, bundleError("converting bundle %s: %v", in.Bundle, err)
	}
	c := converter{findings: &findings{}}
	ctr := c.container(spec, in)
	if err := c.err(); err != nil {
		return nil, fmt.Errorf("converting bundle %s: %w", in.Bundle, err)
	}
	ctr.Ignored = c.ignored
	return ctr, nil
}

func (c *converter) container(spec *specs.Spec, in Input) *Container {
	lin := spec.Linux
	if lin == nil {
		lin = &specs.Linux{}
	}
	ctr := &Container{
		ID:            in.ContainerID,
		Rootfs:        Rootfs{HostPath: RootfsPath(in.Bundle, spec.Root.Path), Readonly: spec.Root.Readonly},
		Process:       processConverter{c.findings}.init(spec.Process),
		Mounts:        c.mounts(spec.Mounts, in.Bundle),
		Namespaces:    c.namespaces(lin.Namespaces),
		MaskedPaths:   c.paths("linux.maskedPaths", lin.MaskedPaths),
		ReadonlyPaths: c.paths("linux.readonlyPaths", lin.ReadonlyPaths),
		Resources:     resourceConverter{c.findings}.resources(lin.Resources),
		Sysctls:       c.sysctls(lin.Sysctl),
		Seccomp:       c.seccomp(lin.Seccomp),
		Devices:       c.devices(lin.Devices, devIsTmpfs(spec.Mounts)),
		VFIONodes:     c.vfioNodes(lin.Devices),
		Terminal:      spec.Process != nil && spec.Process.Terminal,
		Annotations:   maps.Clone(spec.Annotations),
		Hooks:         c.hooks(spec.Hooks),
		CgroupsPath:   lin.CgroupsPath,
	}
	ctr.Hostname = c.hostname(spec.Hostname, ctr.Namespaces.UTS)
	ctr.NetnsPath = c.netns
	ctr.UserNS = c.userNamespace(lin)
	c.checkTopLevel(spec)
	c.checkLinux(lin)
	return ctr
}

// hostname keeps the hostname when the container has a UTS namespace of
// its own to set it in.
func (c *converter) hostname(name string, uts NamespaceMode) string {
	switch {
	case name == "":
		return ""
	case uts == NamespaceNew:
		return name
	case uts == NamespaceSandbox && c.joinsUTS:
		c.ignore("hostname", "the container joins the sandbox's UTS namespace, whose hostname the sandbox sets")
		return ""
	}
	c.fail(invalid("hostname", "setting the hostname needs a UTS namespace: add {\"type\": \"uts\"} to linux.namespaces"))
	return ""
}

// paths copies maskedPaths or readonlyPaths, which must be absolute.
func (c *converter) paths(field string, ps []string) []string {
	for i, p := range ps {
		if !filepath.IsAbs(p) {
			c.fail(invalid(fmt.Sprintf("%s[%d]", field, i), "%q is not an absolute path", p))
		}
	}
	return append([]string(nil), ps...)
}
