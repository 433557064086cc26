package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"
)

// Errors, classified for the agent's RPC status.
var (
	ErrInvalid  = errors.New("invalid storage")
	ErrExists   = errors.New("storage already exists")
	ErrNotFound = errors.New("storage not found")
	ErrEscapes  = errors.New("path escapes the storage root")
	// ErrBusy: a storage removed on request is still in use in the guest.
	ErrBusy = errors.New("storage in use")
)

// Driver says how a storage is mounted.
type Driver int

// The drivers.
const (
	VirtioFS Driver = iota + 1 // Source is the tag
	NineP                      // Source is the mount tag
	Block                      // Source is the disk's device node
	Pmem                       // Source is the NVDIMM's device node
	Local                      // a tmpfs; Source is ignored
	Bind                       // Source is a guest path inside a storage
)

func (d Driver) String() string {
	switch d {
	case VirtioFS:
		return "virtiofs"
	case NineP:
		return "9p"
	case Block:
		return "block"
	case Pmem:
		return "pmem"
	case Local:
		return "local"
	case Bind:
		return "bind"
	}
	return fmt.Sprintf("driver(%d)", int(d))
}

// Spec is one storage to mount.
type Spec struct {
	ID     string
	Driver Driver
	Source string
	// MountPoint is the requested absolute mount point; empty means
	// <root>/<ID>.
	MountPoint string
	FSType     string // Block and Pmem
	Options    []string
	Readonly   bool
}

// mountArgs are the arguments of mount(2) for a spec.
type mountArgs struct {
	source, fstype string
	flags          uintptr
	data           string
}

// ninePDefaults are the 9p options QEMU's virtio-9p needs; msize is the
// largest message, which bounds throughput (measured fine at 512000).
var ninePDefaults = []string{"trans=virtio", "version=9p2000.L", "msize=512000"}

var (
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,36}$`)
	fstypeRE = regexp.MustCompile(`^[a-z0-9]{1,16}$`)
)

// Validate checks s without touching the system. Mount validates too; this
// lets a caller refuse a bad request before waiting for its device.
func Validate(s Spec) error {
	_, err := plan(s)
	return err
}

// plan turns a spec into mount(2) arguments, validating it.
func plan(s Spec) (mountArgs, error) {
	flags, data, err := parseOptions(s.Options)
	if err != nil {
		return mountArgs{}, err
	}
	if s.Readonly {
		flags |= unix.MS_RDONLY
	}
	a := mountArgs{source: s.Source, fstype: s.FSType, flags: flags, data: strings.Join(data, ",")}
	switch s.Driver {
	case VirtioFS, NineP:
		if !tagRE.MatchString(s.Source) {
			return mountArgs{}, fmt.Errorf("%w: %s tag %q", ErrInvalid, s.Driver, s.Source)
		}
		a.fstype = "virtiofs"
		if s.Driver == NineP {
			a.fstype = "9p"
			a.data = strings.Join(mergeOptions(ninePDefaults, data), ",")
		}
	case Block, Pmem:
		if !filepath.IsAbs(s.Source) || filepath.Clean(s.Source) != s.Source || !strings.HasPrefix(s.Source, "/dev/") {
			return mountArgs{}, fmt.Errorf("%w: %s device %q is not a node under /dev", ErrInvalid, s.Driver, s.Source)
		}
		if !fstypeRE.MatchString(s.FSType) {
			return mountArgs{}, fmt.Errorf("%w: file system type %q", ErrInvalid, s.FSType)
		}
	case Local:
		a.source, a.fstype = "local", "tmpfs"
	case Bind:
		if len(data) > 0 {
			return mountArgs{}, fmt.Errorf("%w: bind storage with file system options %q", ErrInvalid, data)
		}
		a.fstype = ""
		a.flags |= unix.MS_BIND | unix.MS_REC
	default:
		return mountArgs{}, fmt.Errorf("%w: unknown driver %d", ErrInvalid, int(s.Driver))
	}
	return a, nil
}

// flagOptions are the mount(8) options that are mount(2) flags; the value
// says whether the option sets (true) or clears (false) the flag.
var flagOptions = map[string]struct {
	flag uintptr
	set  bool
}{
	"ro": {unix.MS_RDONLY, true}, "rw": {unix.MS_RDONLY, false},
	"nosuid": {unix.MS_NOSUID, true}, "suid": {unix.MS_NOSUID, false},
	"nodev": {unix.MS_NODEV, true}, "dev": {unix.MS_NODEV, false},
	"noexec": {unix.MS_NOEXEC, true}, "exec": {unix.MS_NOEXEC, false},
	"sync": {unix.MS_SYNCHRONOUS, true}, "async": {unix.MS_SYNCHRONOUS, false},
	"dirsync": {unix.MS_DIRSYNC, true},
	"noatime": {unix.MS_NOATIME, true}, "atime": {unix.MS_NOATIME, false},
	"nodiratime": {unix.MS_NODIRATIME, true}, "diratime": {unix.MS_NODIRATIME, false},
	"relatime": {unix.MS_RELATIME, true}, "norelatime": {unix.MS_RELATIME, false},
	"strictatime": {unix.MS_STRICTATIME, true},
	"defaults":    {0, true},
}

// refusedOptions would change what is mounted or where, not how.
var refusedOptions = map[string]bool{"remount": true, "bind": true, "rbind": true, "move": true,
	"shared": true, "rshared": true, "slave": true, "rslave": true, "private": true, "rprivate": true}

// parseOptions splits mount(8) options into flags and file-system data.
func parseOptions(opts []string) (uintptr, []string, error) {
	var flags uintptr
	var data []string
	for _, o := range opts {
		if o == "" || strings.ContainsAny(o, ",\x00\n") {
			return 0, nil, fmt.Errorf("%w: mount option %q", ErrInvalid, o)
		}
		if refusedOptions[o] {
			return 0, nil, fmt.Errorf("%w: mount option %q is not allowed", ErrInvalid, o)
		}
		if f, ok := flagOptions[o]; ok {
			if f.set {
				flags |= f.flag
			} else {
				flags &^= f.flag
			}
			continue
		}
		data = append(data, o)
	}
	return flags, data, nil
}

// mergeOptions returns defaults overridden by opts with the same key, then
// the other opts.
func mergeOptions(defaults, opts []string) []string {
	key := func(o string) string { k, _, _ := strings.Cut(o, "="); return k }
	given := map[string]bool{}
	for _, o := range opts {
		given[key(o)] = true
	}
	var out []string
	for _, d := range defaults {
		if !given[key(d)] {
			out = append(out, d)
		}
	}
	return append(out, opts...)
}
