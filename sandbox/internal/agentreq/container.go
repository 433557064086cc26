package agentreq

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/spec"
)

// ErrUnprepared: the container still names something the engine must put
// into the VM first (a mount of a host path without its guest source).
var ErrUnprepared = errors.New("container not prepared")

// CreateContainer builds the request that creates c in the guest, its root
// file system taken from the storage rootfsStorage at rootfsPath (relative
// to the storage's mount point, "" for its root). Every mount of a host
// path must have its guest Source set. The request shares no memory with
// c.
func CreateContainer(c *spec.Container, rootfsStorage, rootfsPath string) (*protocol.CreateContainerRequest, error) {
	switch {
	case c == nil:
		return nil, errors.New("building the create request: no container")
	case rootfsStorage == "":
		return nil, fmt.Errorf("building the create request of container %q: no storage holds its root file system", c.ID)
	}
	mounts, err := mounts(c.Mounts)
	if err != nil {
		return nil, fmt.Errorf("building the create request of container %q: %w", c.ID, err)
	}
	sc, err := Seccomp(c.Seccomp)
	if err != nil {
		return nil, fmt.Errorf("building the create request of container %q: %w", c.ID, err)
	}
	return &protocol.CreateContainerRequest{
		ContainerId:   c.ID,
		ExecId:        c.ID,
		Process:       Process(c.Process),
		Rootfs:        &protocol.Rootfs{StorageId: rootfsStorage, Path: rootfsPath, Readonly: c.Rootfs.Readonly},
		Mounts:        mounts,
		Devices:       devices(c.Devices),
		Hostname:      c.Hostname,
		Namespaces:    namespaces(c.Namespaces),
		MaskedPaths:   slices.Clone(c.MaskedPaths),
		ReadonlyPaths: slices.Clone(c.ReadonlyPaths),
		Resources:     Resources(c.Resources),
		Sysctls:       sysctls(c.Sysctls),
		Seccomp:       sc,
		UserNamespace: userNamespace(c.UserNS),
	}, nil
}

// mounts converts the mounts, refusing a mount of a host path the engine
// has not put into the VM: the guest would bind from nowhere.
func mounts(ms []spec.Mount) ([]*protocol.Mount, error) {
	var out []*protocol.Mount
	var errs []error
	for _, m := range ms {
		if m.Host != nil && m.Source == "" {
			errs = append(errs, fmt.Errorf("%w: %s (%s, host path %s) has no guest source", ErrUnprepared, m.Host.Field, m.Destination, m.Host.Path))
			continue
		}
		out = append(out, &protocol.Mount{
			Destination: m.Destination,
			Type:        m.Type,
			Source:      m.Source,
			Options:     slices.Clone(m.Options),
		})
	}
	return out, errors.Join(errs...)
}

func devices(ds []spec.Device) []*protocol.ContainerDevice {
	var out []*protocol.ContainerDevice
	for _, d := range ds {
		cd := &protocol.ContainerDevice{
			GuestPath:     d.GuestPath,
			ContainerPath: d.ContainerPath,
			FileMode:      uint32(d.FileMode.Perm()),
			Uid:           d.UID,
			Gid:           d.GID,
		}
		if d.GuestPath == "" {
			cd.Number = &protocol.DeviceNumber{Type: d.Type, Major: d.Major, Minor: d.Minor}
		}
		out = append(out, cd)
	}
	return out
}

// namespaceModes maps the spec's modes; the unset mode stays unset, which
// the agent reads as new.
var namespaceModes = map[spec.NamespaceMode]protocol.NamespaceMode{
	spec.NamespaceNew:     protocol.NamespaceMode_NAMESPACE_MODE_NEW,
	spec.NamespaceSandbox: protocol.NamespaceMode_NAMESPACE_MODE_SANDBOX,
}

func namespaces(ns spec.Namespaces) *protocol.Namespaces {
	return &protocol.Namespaces{
		Pid:    namespaceModes[ns.PID],
		Uts:    namespaceModes[ns.UTS],
		Ipc:    namespaceModes[ns.IPC],
		Cgroup: namespaceModes[ns.Cgroup],
	}
}

// sysctls lists the sysctls sorted by key, so that the request is the
// same on every run.
func sysctls(m map[string]string) []*protocol.Sysctl {
	var out []*protocol.Sysctl
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, &protocol.Sysctl{Key: k, Value: m[k]})
	}
	return out
}

func userNamespace(u *spec.UserNS) *protocol.UserNamespace {
	if u == nil {
		return nil
	}
	return &protocol.UserNamespace{UidMappings: idMappings(u.UIDMappings), GidMappings: idMappings(u.GIDMappings)}
}

func idMappings(ms []spec.IDMapping) []*protocol.IDMapping {
	out := make([]*protocol.IDMapping, 0, len(ms))
	for _, m := range ms {
		out = append(out, &protocol.IDMapping{ContainerId: m.ContainerID, HostId: m.HostID, Size: m.Size})
	}
	return out
}
