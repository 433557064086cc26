package blockvol

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Errors, for errors.Is.
var (
	// ErrInvalid: the mount cannot be a block volume as given.
	ErrInvalid = errors.New("invalid block volume")
	// ErrInUse: another sandbox, or the host, holds the source.
	ErrInUse = errors.New("block volume in use")
)

// Kind says what backs a volume.
type Kind int

const (
	// Image is a regular file holding a file system.
	Image Kind = iota + 1
	// Device is a host block device.
	Device
)

func (k Kind) String() string {
	switch k {
	case Image:
		return "image file"
	case Device:
		return "block device"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Volume is a classified block volume.
type Volume struct {
	Source      string // host path, as the mount names it
	Destination string // in the container
	Kind        Kind
	Size        int64  // bytes
	FSType      string // for the guest's mount: the mount's type, else detected
	// Options are the mount options the guest's mount keeps: OCI bind and
	// propagation words, loop, ro and rw are taken out.
	Options  []string
	ReadOnly bool
}

// bindTypes are OCI mount types that say "bind", not a file system.
var bindTypes = []string{"", "bind", "rbind", "none"}

// droppedOptions are meaningful on the host side only, or carried by
// ReadOnly.
var droppedOptions = []string{"bind", "rbind", "loop", "ro", "rw", "defaults",
	"private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable"}

// Classify decides whether m is a block volume: a source that is a block
// device (whatever the mount type), or a regular file mounted with a file
// system type (like mount -o loop). A bind mount of a regular file or of a
// directory is not one (ok false): it goes through the shared directory.
func Classify(m specs.Mount) (v Volume, ok bool, err error) {
	fi, err := os.Stat(m.Source)
	if err != nil {
		return Volume{}, false, fmt.Errorf("inspecting mount source %q: %w", m.Source, err)
	}
	isBind := slices.Contains(bindTypes, m.Type) || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
	switch {
	case fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0:
		v.Kind = Device
	case fi.Mode().IsRegular() && !isBind:
		v.Kind = Image
	default:
		return Volume{}, false, nil
	}
	v.Source, v.Destination = m.Source, m.Destination
	v.ReadOnly = readOnly(m.Options)
	for _, o := range m.Options {
		if !slices.Contains(droppedOptions, o) {
			v.Options = append(v.Options, o)
		}
	}
	if err := v.inspect(m.Type, isBind); err != nil {
		return Volume{}, false, err
	}
	return v, true, nil
}

// readOnly applies ro and rw in order, as mount(8) does.
func readOnly(opts []string) bool {
	ro := false
	for _, o := range opts {
		switch o {
		case "ro":
			ro = true
		case "rw":
			ro = false
		}
	}
	return ro
}

// inspect reads the size and, unless the mount names it, the file system.
func (v *Volume) inspect(mountType string, isBind bool) error {
	f, err := os.Open(v.Source)
	if err != nil {
		return fmt.Errorf("opening %s %q: %w", v.Kind, v.Source, err)
	}
	defer f.Close()
	if v.Size, err = size(f); err != nil {
		return fmt.Errorf("sizing %s %q: %w", v.Kind, v.Source, err)
	}
	if v.Size == 0 {
		return fmt.Errorf("%w: %s %q is empty", ErrInvalid, v.Kind, v.Source)
	}
	if !isBind && mountType != "auto" {
		v.FSType = mountType
		return nil
	}
	if v.FSType = DetectFSType(f); v.FSType == "" {
		return fmt.Errorf("%w: %s %q holds no file system Kite recognizes (ext2/3/4, xfs, btrfs): give the mount a type",
			ErrInvalid, v.Kind, v.Source)
	}
	return nil
}

// size works for both kinds: seeking to the end of a block device gives
// its size, as BLKGETSIZE64 would.
func size(f *os.File) (int64, error) {
	return f.Seek(0, io.SeekEnd)
}

// magic is a file system signature at a fixed offset.
type magic struct {
	fstype string
	off    int64
	sig    []byte
}

var magics = []magic{
	// ext2/3/4 share the magic; the ext4 driver mounts them all.
	{"ext4", 1024 + 56, []byte{0x53, 0xEF}},
	{"xfs", 0, []byte("XFSB")},
	{"btrfs", 0x10040, []byte("_BHRfS_M")},
}

// DetectFSType names the file system at the start of r by its superblock
// magic, "" when none is recognized.
func DetectFSType(r io.ReaderAt) string {
	for _, m := range magics {
		b := make([]byte, len(m.sig))
		if _, err := r.ReadAt(b, m.off); err == nil && string(b) == string(m.sig) {
			return m.fstype
		}
	}
	return ""
}
