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
	// Namespaces says, per kind the guest lets a container choose, whether
	// the container gets its own or the sandbox's.
	Namespaces Namespaces
	// MaskedPaths and ReadonlyPaths are linux.maskedPaths and
	// linux.readonlyPaths, absolute paths in the container.
	MaskedPaths, ReadonlyPaths []string
	// Resources are the cgroup limits the guest applies; nil when the spec
	// sets none of them.
	Resources *Resources
	// Sysctls are linux.sysctl, set in the container's namespaces.
	Sysctls map[string]string
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
	// Ignored lists the spec's fields Convert dropped because they do not
	// matter inside a VM, each "field (why)", for the front end to log.
	Ignored []string
}

// Rootfs is the container's root file system on the host.
type Rootfs struct {
	// HostPath is the absolute directory root.path names (a relative
	// root.path is taken relative to the bundle).
	HostPath string
	// Readonly says the root, and so the host side of its share, must be
	// read-only (root.readonly).
	Readonly bool
}

// Device is a node the guest has, made visible in the container.
type Device struct {
	// GuestPath is the node in the guest, e.g. "/dev/net/tun".
	GuestPath string
	// ContainerPath is where the container sees it, e.g. "/dev/tun0".
	ContainerPath string
	// FileMode holds the node's permission bits; zero means 0666.
	FileMode fs.FileMode
	// UID and GID own the node.
	UID, GID uint32
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
	// MemoryLimit is in bytes; -1 means unlimited.
	MemoryLimit *int64
	// PidsLimit is the most tasks; -1 means unlimited.
	PidsLimit *int64
}

// empty says the resources set no limit.
func (r *Resources) empty() bool {
	return r.CPUShares == nil && r.CPUQuota == nil && r.CPUPeriod == nil && r.CPUs == "" &&
		r.MemoryLimit == nil && r.PidsLimit == nil
}
