package spec

// Mount is a mount of the container.
type Mount struct {
	// Destination is the absolute path in the container.
	Destination string
	// Type is the file system type the guest mounts: "proc", "tmpfs"...,
	// or "bind" for a mount of a host path, which the guest binds from
	// where the engine put it.
	Type string
	// Source is the guest's source: a pseudo file system's name, or, for
	// a mount with Host set, the guest path the engine set once the host
	// path is in the VM (empty until then).
	Source string
	// Options are the guest mount's options.
	Options []string
	// Host is set for a mount of a host path (a bind of a host file or
	// directory, a disk image or block device with a file system type, a
	// DAX image): the engine puts it into the VM and sets Source to where
	// the guest has it before the container is created. nil: the guest
	// mounts it itself (proc, tmpfs...).
	Host *HostSource
}

// HostKind is how a host path reaches the guest.
type HostKind int

const (
	// HostBind is a host file or directory shared into the guest (or, for
	// a block device, attached as a disk: the engine tells by looking).
	HostBind HostKind = iota + 1
	// HostDisk is an image file or block device with a file system,
	// attached as a disk (virtio-blk) and mounted by the guest.
	HostDisk
	// HostDAX is a read-only image attached as an NVDIMM when the VM
	// boots and mapped with DAX.
	HostDAX
)

var hostKindNames = []string{"", "bind", "disk", "dax"}

func (k HostKind) String() string { return enumString(k, hostKindNames) }

// MarshalText writes the kind's name.
func (k HostKind) MarshalText() ([]byte, error) { return enumText(k, hostKindNames) }

// UnmarshalText reads a name MarshalText writes.
func (k *HostKind) UnmarshalText(text []byte) (err error) {
	*k, err = parseEnum[HostKind](text, hostKindNames)
	return err
}

// HostSource is the host side of a mount of a host path.
type HostSource struct {
	Kind HostKind
	// Path is the absolute host path (a relative bind source is taken
	// relative to the bundle, as runc does).
	Path string
	// ReadOnly: the options say "ro" (or "rro"); the host side (share,
	// disk) is then read-only too, not only the guest's mount. For a bind,
	// only the source's own mount is: mounts below it keep their flags.
	ReadOnly bool
	// Recursive: a bind takes the mounts below its source along ("rbind",
	// or no bind option at all); "bind" alone leaves them out, as runc
	// does.
	Recursive bool
	// RecursiveReadOnly: a bind says "rro" (runtime-spec 1.1): every
	// mount of it is read-only, those below the source included.
	RecursiveReadOnly bool
	// FSType is a disk's file system ("ext4"); empty for a bind.
	FSType string
	// Options are a disk's mount options in the guest, without ro, rw,
	// dax, loop and defaults; empty for a bind.
	Options []string
	// Field names the spec entry, for errors ("mounts[3]").
	Field string
}
