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
	Objects   []Object
	Chardevs  []Chardev
	Netdevs   []Netdev
	Fsdevs    []Fsdev
	Blockdevs []Blockdev
	Devices   []DeviceProps
}

// Args renders the parts as command-line arguments.
func (p Parts) Args() []string {
	var args []string
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
// fd 3+i in QEMU.
type fdTable struct {
	files []*os.File
}

func (t *fdTable) Ref(f *os.File) string {
	for i, g := range t.files {
		if g == f {
			return strconv.Itoa(3 + i)
		}
	}
	t.files = append(t.files, f)
	return strconv.Itoa(3 + len(t.files) - 1)
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
