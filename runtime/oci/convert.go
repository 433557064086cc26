package oci

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"

	"github.com/kite-vm/kite/agent/protocol"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// RootfsStorage is the id of the storage the root file system is mounted
// from in the guest: the runtime shares Plan.Rootfs under this id.
const RootfsStorage = "rootfs"

// Input is what Convert needs besides the spec.
type Input struct {
	// ContainerID is the container's id, also the id of its init process.
	ContainerID string
	// Bundle is the absolute path of the bundle directory.
	Bundle string
}

// Plan is a bundle turned into Kite's terms.
type Plan struct {
	// Rootfs is the absolute host directory to share with the guest as the
	// storage RootfsStorage.
	Rootfs string
	// RootfsReadonly says the share, and the container's root, must be
	// read-only (root.readonly).
	RootfsReadonly bool
	// Request creates the container in the guest. Its process has a stdin
	// pipe: the host process relays its own stdin, as runc hands its stdin
	// to the container; clear Process.Stdin to give it /dev/null instead.
	Request *protocol.CreateContainerRequest
	// Terminal says the process runs on a pseudo-terminal
	// (process.terminal), whose master the CLI hands to --console-socket.
	Terminal bool
	// NetnsPath is the pod's network namespace (linux.namespaces, type
	// network, with a path), whose interfaces the VM takes over; empty
	// when the spec asks for a new one: the VM then has no network.
	NetnsPath string
	// Volumes are the mounts of image files and block devices: each must
	// be attached as a disk and its mount's source set before Request is
	// sent.
	Volumes []HostVolume
	// Binds are the bind mounts of host paths: each must be shared into the
	// guest and its mount's source set before Request is sent.
	Binds []HostBind
	// Annotations are the spec's annotations, for `kite state`.
	Annotations map[string]string
	// Ignored lists the spec's fields Convert dropped because they do not
	// matter inside a VM, each "field (why)", for the CLI to log.
	Ignored []string
}

// converter accumulates the ignored fields and the refusals of one Convert.
type converter struct {
	ignored []string
	errs    []error
	// netns is the network namespace path linux.namespaces names.
	netns string
	// binds are the bind mounts of host paths, in mount order.
	binds []HostBind
	// volumes are the disk mounts, in mount order.
	volumes []HostVolume
	// joinsUTS: linux.namespaces names a UTS namespace to join, which the
	// guest maps to the sandbox's.
	joinsUTS bool
}

func (c *converter) ignore(field, why string) {
	c.ignored = append(c.ignored, field+" ("+why+")")
}

func (c *converter) fail(err error) { c.errs = append(c.errs, err) }

// Convert turns a spec Load accepted into a Plan. It refuses, naming each
// field (errors are *FieldError, joined), what the guest cannot honour.
func Convert(spec *specs.Spec, in Input) (*Plan, error) {
	if in.ContainerID == "" {
		return nil, errors.New("converting the bundle: the container id is empty")
	}
	if !filepath.IsAbs(in.Bundle) {
		return nil, fmt.Errorf("converting bundle %q: the bundle path must be absolute", in.Bundle)
	}
	if err := checkFields(spec); err != nil {
		return nil, bundleError("converting bundle %s: %v", in.Bundle, err)
	}
	var c converter
	p := c.plan(spec, in)
	if err := errors.Join(c.errs...); err != nil {
		return nil, fmt.Errorf("converting bundle %s: %w", in.Bundle, err)
	}
	p.Ignored = c.ignored
	return p, nil
}

func (c *converter) plan(spec *specs.Spec, in Input) *Plan {
	lin := spec.Linux
	if lin == nil {
		lin = &specs.Linux{}
	}
	req := &protocol.CreateContainerRequest{
		ContainerId:   in.ContainerID,
		ExecId:        in.ContainerID,
		Process:       c.process(spec.Process),
		Rootfs:        &protocol.Rootfs{StorageId: RootfsStorage, Readonly: spec.Root.Readonly},
		Mounts:        c.mounts(spec.Mounts, in.Bundle),
		Namespaces:    c.namespaces(lin.Namespaces),
		MaskedPaths:   c.paths("linux.maskedPaths", lin.MaskedPaths),
		ReadonlyPaths: c.paths("linux.readonlyPaths", lin.ReadonlyPaths),
		Resources:     c.resources(lin.Resources),
		Sysctls:       sysctls(lin.Sysctl),
		Devices:       c.devices(lin.Devices, devIsTmpfs(spec.Mounts)),
	}
	req.Hostname = c.hostname(spec.Hostname, req.Namespaces.GetUts())
	c.checkTopLevel(spec)
	c.checkLinux(lin)
	return &Plan{
		Rootfs:         RootfsPath(in.Bundle, spec.Root.Path),
		RootfsReadonly: spec.Root.Readonly,
		Request:        req,
		Terminal:       spec.Process.Terminal,
		Annotations:    maps.Clone(spec.Annotations),
		Binds:          c.binds,
		Volumes:        c.volumes,
		NetnsPath:      c.netns,
	}
}

// hostname keeps the hostname when the container has a UTS namespace of
// its own to set it in.
func (c *converter) hostname(name string, uts protocol.NamespaceMode) string {
	switch {
	case name == "":
		return ""
	case uts == protocol.NamespaceMode_NAMESPACE_MODE_NEW:
		return name
	case uts == protocol.NamespaceMode_NAMESPACE_MODE_SANDBOX && c.joinsUTS:
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
