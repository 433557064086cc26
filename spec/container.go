package spec

import "io/fs"

// Container is an OCI bundle in Kite's terms: what the guest must create,
// with every host path it needs named, so that the engine can put those
// into the VM before asking the agent for the container.
type Container struct {
	// ID is the container's id, also the exec id of its init process.
	ID string
	// Hostname is set only when the container has a UTS namespace of its
	// own to set it in.
	Hostname string
	// Rootfs is the root file system directory on the host.
	Rootfs Rootfs
	// Process is the container's init process.
	Process *Process
	// Mounts are the container's mounts in spec order; those with Host set
	// need the engine before the container can be created.
	Mounts []Mount
	// Devices are guest device nodes made visible in the container
	// (linux.devices).
	Devices []Device
	// VFIONodes are the host VFIO nodes linux.devices names
	// (/dev/vfio/<group>, /dev/vfio/devices/vfio<N>, /dev/vfio/vfio): the
	// engine passes their functions through to the sandbox.
	VFIONodes []string
	// Namespaces says, per kind the guest lets a container choose, whether
	// the container gets its own or the sandbox's.
	Namespaces Namespaces
	// UserNS, when set, gives the container a user namespace of its own
	// (linux.namespaces "user" with linux.uidMappings and gidMappings);
	// nil keeps the guest's.
	UserNS *UserNS
	// MaskedPaths and ReadonlyPaths are linux.maskedPaths and
	// linux.readonlyPaths, absolute paths in the container.
	MaskedPaths, ReadonlyPaths []string
	// Resources are the cgroup limits the guest applies; nil when the spec
	// sets none of them.
	Resources *Resources
	// Sysctls are linux.sysctl, set in the container's namespaces.
	Sysctls map[string]string
	// Seccomp is linux.seccomp, enforced in the guest; nil when the spec
	// has none.
	Seccomp *Seccomp
	// CgroupsPath is linux.cgroupsPath: for a sandbox's first container,
	// the host cgroup the sandbox's host processes go to (package
	// hostcgroup reads it); a later container's is not used, its limits
	// count in the sandbox's cgroup.
	CgroupsPath string
	// NetnsPath is the pod's network namespace (linux.namespaces, type
	// network, with a path), whose interfaces the VM takes over; empty
	// when the spec asks for a new one: the VM then has no network.
	NetnsPath string
	// Terminal is process.terminal as the bundle says it: the front end
	// hands the terminal's master to --console-socket even when the engine
	// changes Process.Terminal for a front end that decides it otherwise
	// (the shim).
	Terminal bool
	// Annotations are the spec's annotations, for `kite state`.
	Annotations map[string]string
	// Hooks are the spec's OCI hooks, which the OCI front end runs on the
	// host (see Hooks); nil when there are none.
	Hooks *Hooks
	// Ignored lists the spec's fields Convert dropped because they do not
	// matter inside a VM, each "field (why)", for the front end to log.
	Ignored []string
}

// Rootfs is the container's root file system on the host.
type Rootfs struct {
	// HostPath is the absolute directory root.path names (a relative
	// root.path is taken relative to the bundle).
	HostPath string
	// Readonly says the guest remounts the root read-only once the
	// container's mounts are made (root.readonly). The host side of its
	// share stays writable: as with runc, the mount points the image lacks
	// are created in the root first.
	Readonly bool
}

// Device is a node the guest has, made visible in the container.
type Device struct {
	// GuestPath is the node in the guest, e.g. "/dev/net/tun"; empty for
	// a node made by its numbers.
	GuestPath string
	// Type ("c", "b" or "p"), Major and Minor make the node when GuestPath
	// is empty: the numbers are the guest kernel's.
	Type         string
	Major, Minor uint32
	// ContainerPath is where the container sees it, e.g. "/dev/tun0".
	ContainerPath string
	// FileMode holds the node's permission bits; zero means 0666.
	FileMode fs.FileMode
	// UID and GID own the node.
	UID, GID uint32
}

// UserNS is a user namespace of the container's own: its IDs map to the
// guest's, which are the host's as virtio-fs and 9p show the files.
type UserNS struct {
	UIDMappings, GIDMappings []IDMapping
}

// IDMapping maps Size IDs from ContainerID in the container to HostID.
type IDMapping struct {
	ContainerID, HostID, Size uint32
}

// Resources are the cgroup limits the guest applies. A nil field leaves
// the limit unset at creation and unchanged in an update.
type Resources struct {
	// CPUShares is the CPU weight in cgroup v1 shares.
	CPUShares *uint64
	// CPUQuota is the CFS quota per period in microseconds; -1 means
	// unlimited.
	CPUQuota *int64
	// CPUPeriod is the CFS period in microseconds.
	CPUPeriod *uint64
	// CPUs are the CPUs the container may run on, in cpuset list syntax
	// ("0-1"); empty leaves them.
	CPUs string
	// Mems are the memory nodes (cpuset list syntax), applied on the host
	// only, to the sandbox's cgroup: the guest has one node.
	Mems string
	// MemoryLimit is in bytes; -1 means unlimited.
	MemoryLimit *int64
	// PidsLimit is the most tasks; -1 means unlimited.
	PidsLimit *int64
	// Devices are the device cgroup's rules (linux.resources.devices), in
	// order. The guest adds runc's default allow list and the container's
	// device nodes after them, and keeps its console out of reach.
	Devices []DeviceRule
}

// empty says the resources set no limit.
func (r *Resources) empty() bool {
	return r.CPUShares == nil && r.CPUQuota == nil && r.CPUPeriod == nil && r.CPUs == "" && r.Mems == "" &&
		r.MemoryLimit == nil && r.PidsLimit == nil && len(r.Devices) == 0
}
