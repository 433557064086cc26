package protocol

// Version is the protocol version both ends must speak; the agent reports it
// in CheckResponse.protocol_version. Bump it on any change that an older peer
// would misread (a changed meaning, not an added field), so the host refuses
// the mismatched agent instead of failing later in odd ways. An added field
// that an older agent would drop silently where that weakens the container
// counts as such a change.
//
// 2: the container's seccomp filter, device cgroup rules, sysctls and
// IPC/UTS namespaces, non-recursive read-only binds, the OOM-killed reason,
// and the Restored call of template clones: an agent of version 1 would run
// the container without its seccomp filter and device rules.
//
// 3: the container's user namespace (an agent of version 2 would run it as
// the guest's root), containers without a process, device nodes made by
// number.
const Version uint32 = 3

// VsockPort is the vsock port the agent listens on in the guest.
const VsockPort uint32 = 1024

// SerialPortName is the name of the virtserialport that carries the agent
// connection (QEMU: -device virtserialport,name=agent0). Without udev the
// guest finds it through /sys/class/virtio-ports/*/name.
const SerialPortName = "agent0"

// StorageRoot is where the agent mounts storages in the guest: a storage
// with no mount point is at StorageRoot/<id>, so the host can name guest
// paths inside it (a bind mount's source) without asking.
const StorageRoot = "/run/kite/storage"
