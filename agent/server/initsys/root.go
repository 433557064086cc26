package initsys

import (
	"strings"
)

// Root is the root file system the kernel command line names with the
// conventional root=, rootfstype=, rootflags= and ro/rw words. The kernel
// itself ignores them when the initramfs has an /init, and it passes none of
// them on to init as arguments or environment, so they are free for the
// stage initramfs to read.
type Root struct {
	Device   string // root=, e.g. /dev/pmem0
	FSType   string // rootfstype=; ext4 when absent
	Options  string // rootflags=, mount(8) data such as dax=always
	ReadOnly bool   // ro (the default) unless rw
}

// ParseRoot reads the root words of a kernel command line; ok is false
// without root=. Later words win, as in the kernel.
func ParseRoot(cmdline string) (r Root, ok bool) {
	r = Root{FSType: "ext4", ReadOnly: true}
	for _, w := range strings.Fields(cmdline) {
		key, value, _ := strings.Cut(w, "=")
		switch key {
		case "root":
			r.Device, ok = value, value != ""
		case "rootfstype":
			r.FSType = value
		case "rootflags":
			r.Options = value
		case "ro":
			r.ReadOnly = true
		case "rw":
			r.ReadOnly = false
		}
	}
	return r, ok
}
