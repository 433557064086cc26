package container

import "github.com/kite-vm/kite/agent/server/seccomp"

// Spec describes a container. Paths named "in the container" are resolved
// inside Rootfs and may not leave it; other paths are guest paths.
type Spec struct {
	// ID names the container in errors.
	ID string
	// Rootfs is the guest directory that becomes the container's root.
	Rootfs string
	// ReadonlyRootfs remounts the root read-only once it is built.
	ReadonlyRootfs bool
	// Hostname is set in the container's UTS namespace, which must be new.
	Hostname string
	// Namespaces chooses the pid, uts, ipc and cgroup namespaces. The
	// mount namespace is always new and the network namespace always the
	// guest's.
	Namespaces Namespaces
	// Mounts are made in order on top of the root.
	Mounts []Mount
	// Devices are device nodes created in the container after Mounts.
	Devices []Device
	// MaskedPaths (in the container) are hidden: a file under /dev/null, a
	// directory under an empty read-only tmpfs. Missing paths are skipped.
	MaskedPaths []string
	// ReadonlyPaths (in the container) are bind-mounted read-only onto
	// themselves. Missing paths are skipped.
	ReadonlyPaths []string
	// Sysctls are written in the container's namespaces before its mounts
	// are made (net.* ones reach the guest's network namespace, which the
	// container shares).
	Sysctls []Sysctl
	// Cgroups are guest cgroup directories (one per hierarchy; a single one
	// with cgroup v2) every process of the container joins before it runs.
	Cgroups []string
	// Seccomp is the system call filter every process of the container,
	// its execs included, gets right before it execs (after no_new_privs,
	// or before the credentials are dropped without it, as runc does); nil
	// means none.
	Seccomp *seccomp.Filter
	// Process is the container's init process.
	Process ProcessSpec
	// UserNS gives the container a user namespace of its own with these
	// mappings; nil keeps the guest's. Its init is cloned into it with
	// its other new namespaces, which it then owns (its root may mount in
	// them); it cannot join namespaces the guest's user namespace owns.
	UserNS *UserNS
	// NoProcess: the container has no process (OCI process is optional at
	// create). It is built and its init waits, holding its namespaces, as
	// any created container's; Start refuses it, and Process is unused.
	NoProcess bool
}

// Mount is one mount in the container, as in the OCI spec.
type Mount struct {
	// Destination is the mount point in the container; missing
	// directories (or, for a bind mount of a file, the file) are created.
	Destination string
	// Type is "bind" or one of proc, sysfs, tmpfs, devpts, mqueue, cgroup2,
	// hugetlbfs. A "bind" or "rbind" option makes any type a bind mount.
	Type string
	// Source is the file system's source; for a bind mount, a guest path.
	Source string
	// Options are flags such as "ro", "nosuid", "rbind", "rprivate", and
	// file-system data such as "mode=755" (not allowed on bind mounts).
	Options []string
}

// Device is a device node made in the container: same type and numbers as
// Source, with its own mode and owner.
type Device struct {
	// Source is the guest device node, e.g. "/dev/fuse"; empty for a node
	// made by its numbers (Kind and Rdev).
	Source string
	// Kind is unix.S_IFCHR, S_IFBLK or S_IFIFO for a node made by its
	// numbers; zero with Source.
	Kind uint32
	// Rdev is the number of a node made by its numbers (0 for a FIFO).
	Rdev uint64
	// Destination is the node's path in the container.
	Destination string
	// Mode holds the node's permission bits; zero means 0666.
	Mode uint32
	// UID and GID own the node.
	UID, GID uint32
}

// UserNS is a user namespace's ID mappings.
type UserNS struct {
	UIDMappings, GIDMappings []IDMap
}

// IDMap maps Size IDs from ContainerID in the container to HostID in the
// guest.
type IDMap struct {
	ContainerID, HostID, Size uint32
}

// Sysctl is one kernel parameter, as in OCI linux.sysctl.
type Sysctl struct {
	// Key is the dotted name, e.g. "kernel.shmmax".
	Key string
	// Value is written as is.
	Value string
}

// NamespaceMode says where a container's namespace of one kind comes from.
type NamespaceMode int

const (
	// NamespaceNew gives the container a namespace of its own. It is the
	// zero value, so an empty Namespaces isolates everything it can.
	NamespaceNew NamespaceMode = iota
	// NamespaceHost shares the agent's namespace (the VM's).
	NamespaceHost
	// NamespaceJoin joins the namespace at Namespace.Path, such as
	// /proc/<pid>/ns/ipc of a pod's first container.
	NamespaceJoin
)

// Namespace chooses one namespace.
type Namespace struct {
	Mode NamespaceMode
	// Path is the namespace file joined with NamespaceJoin; empty
	// otherwise.
	Path string
}

// Namespaces chooses the container's namespaces.
type Namespaces struct {
	PID, UTS, IPC, Cgroup Namespace
}

// ProcessSpec describes a process to run in the container.
type ProcessSpec struct {
	// Args is argv; Args[0] is looked up in the PATH of Env when it holds
	// no slash.
	Args []string
	// Env is the whole environment, each entry "KEY=value".
	Env []string
	// Cwd is the working directory in the container.
	Cwd string
	// UID and GID are the process's credentials; AdditionalGIDs are its
	// supplementary groups, exactly (the container's /etc/group is not
	// read).
	UID, GID       uint32
	AdditionalGIDs []uint32
	// Umask is the file mode creation mask; nil means 0022.
	Umask *uint32
	// Terminal gives the process a pseudo-terminal as stdin, stdout and
	// stderr and makes it the controlling terminal of a new session.
	Terminal bool
	// ConsoleSize is the terminal's initial size.
	ConsoleSize *WinSize
	// Stdin gives the process a stdin pipe; otherwise stdin is /dev/null.
	// A terminal always has input.
	Stdin bool
	// Rlimits are set with setrlimit before exec.
	Rlimits []Rlimit
	// NoNewPrivileges sets PR_SET_NO_NEW_PRIVS.
	NoNewPrivileges bool
	// Capabilities are the process's capability sets. The zero value
	// means no capabilities at all; CapabilityNames lists every name.
	Capabilities Capabilities
	// OOMScoreAdj is written to /proc/self/oom_score_adj; nil leaves the
	// inherited value.
	OOMScoreAdj *int
}

// WinSize is a terminal size in character cells.
type WinSize struct {
	Rows, Cols uint16
}

// Rlimit is one resource limit.
type Rlimit struct {
	// Type is the resource's name, e.g. "RLIMIT_NOFILE".
	Type string
	// Hard and Soft are the limits; ^uint64(0) means unlimited.
	Hard, Soft uint64
}

// Capabilities are capability sets by name, e.g. "CAP_NET_ADMIN".
type Capabilities struct {
	Bounding, Effective, Inheritable, Permitted, Ambient []string
}

// Options are agent-wide choices for running containers.
type Options struct {
	// StagePath is the binary re-executed as the stage; it must call
	// StageMain when IsStage reports true. Empty means /proc/self/exe.
	StagePath string
	// NoPivot builds the root with MS_MOVE and chroot instead of
	// pivot_root. pivot_root cannot leave an initramfs (the kernel answers
	// EINVAL when the current root is rootfs), so the stage falls back to
	// MS_MOVE on its own in that case; NoPivot forces it.
	NoPivot bool
	// Busybox is the busybox whose nsenter starts an exec's stage in a
	// container's user namespace; empty means DefaultBusybox.
	Busybox string
}
