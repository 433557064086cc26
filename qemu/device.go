package qemu

import (
	"fmt"
	"os"
	"strconv"
)

// Device is a typed device spec. Validate checks the spec on its own; rules
// that span devices (unique ids, existing root ports, shared memory) are
// Config's. Parts returns the QEMU objects the device is made of; it is pure
// and must only be called on a valid spec.
type Device interface {
	Validate() error
	Parts(fds FDs) Parts
}

// Parts are the QEMU objects that make up one device, each list in the order
// QEMU needs them created. Adding a device over QMP walks the lists in the
// order of the fields; removing it walks them backwards.
type Parts struct {
	FDSets    []FDSet
	Objects   []Object
	Chardevs  []Chardev
	Netdevs   []Netdev
	Fsdevs    []Fsdev
	Blockdevs []Blockdev
	Devices   []DeviceProps

	// handed are files passed to QEMU that it reopens through
	// /proc/self/fd, for Start's access check.
	handed []pathUse
}

// Args renders the parts as command-line arguments.
func (p Parts) Args() []string {
	var args []string
	for _, s := range p.FDSets {
		args = append(args, "-add-fd", opts("", Str("fd", s.Ref), Int("set", s.ID)))
	}
	for _, o := range p.Objects {
		args = append(args, "-object", o.Arg())
	}
	for _, c := range p.Chardevs {
		args = append(args, "-chardev", c.Arg())
	}
	for _, n := range p.Netdevs {
		args = append(args, "-netdev", n.Arg())
	}
	for _, f := range p.Fsdevs {
		args = append(args, "-fsdev", f.Arg())
	}
	for _, b := range p.Blockdevs {
		args = append(args, "-blockdev", b.Arg())
	}
	for _, d := range p.Devices {
		args = append(args, "-device", d.Arg())
	}
	return args
}

// FDs hands out the reference by which a backend names a file passed to
// QEMU: an fd number on the command line, a getfd name over QMP.
type FDs interface {
	Ref(f *os.File) string
}

// fdTable numbers files for exec.Cmd.ExtraFiles: the i-th distinct file is
// fd base+i in QEMU.
type fdTable struct {
	base  int // the first file's fd; 0 means 3, the first after stdio
	files []*os.File
}

func (t *fdTable) Ref(f *os.File) string {
	base := t.base
	if base == 0 {
		base = 3
	}
	for i, g := range t.files {
		if g == f {
			return strconv.Itoa(base + i)
		}
	}
	t.files = append(t.files, f)
	return strconv.Itoa(base + len(t.files) - 1)
}

// NamedFD is a file to send to QEMU with the QMP getfd command under Name.
type NamedFD struct {
	Name string
	File *os.File
}

// NamedFDs is the FDs for hot plug: it names files Prefix0, Prefix1, ... and
// records them so the caller can send each with getfd before adding the
// backends that refer to them. Use a Prefix unique in the VM (the device ID).
type NamedFDs struct {
	Prefix string
	Files  []NamedFD
	// Sets are the fd sets chosen for the files that go into one (FDSet),
	// free in the running QEMU; a file without one gets its device's
	// DeviceFDSet.
	Sets map[*os.File]int64
}

// FDSetChooser is implemented by FDs that choose the fd set of a file
// themselves (hot plug picks one the running QEMU does not use).
type FDSetChooser interface {
	FDSetID(f *os.File) (int64, bool)
}

// FDSetID implements FDSetChooser.
func (n *NamedFDs) FDSetID(f *os.File) (int64, bool) {
	id, ok := n.Sets[f]
	return id, ok
}

// Ref implements FDs.
func (n *NamedFDs) Ref(f *os.File) string {
	for _, g := range n.Files {
		if g.File == f {
			return g.Name
		}
	}
	name := fmt.Sprintf("%s%d", n.Prefix, len(n.Files))
	n.Files = append(n.Files, NamedFD{Name: name, File: f})
	return name
}

// machineNeeds is what a device requires of the machine, checked by Config.
type machineNeeds struct {
	kind, id     string // the device, for error messages
	sharedMemory bool   // vhost-user backends map guest memory
	nvdimmBytes  int64  // an NVDIMM takes a memory slot and this much maxmem
}

// needer is implemented by devices with machine requirements.
type needer interface {
	needs() machineNeeds
}
