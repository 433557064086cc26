package qemu

import (
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// SeccompArg is the -sandbox value of Config.Seccomp: QEMU's own seccomp
// filter with every optional group denied. Measured with QEMU 7.2 against
// each Kite data path (docs/security.md): none makes one of these calls
// once running. Kite never uses -runas (it starts QEMU as its user), and it
// pins vCPU threads from outside, so resourcecontrol=deny costs nothing.
// The filter also sets no_new_privs (libseccomp's default).
const SeccompArg = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

// Capability is a Linux capability (capabilities(7)) an unprivileged QEMU
// keeps as an ambient capability.
type Capability uintptr

// The capabilities a Kite data path may need QEMU to keep.
const (
	CapChown       Capability = unix.CAP_CHOWN
	CapDACOverride Capability = unix.CAP_DAC_OVERRIDE
	CapFowner      Capability = unix.CAP_FOWNER
	CapFsetid      Capability = unix.CAP_FSETID
	CapIPCLock     Capability = unix.CAP_IPC_LOCK
)

var capNames = map[Capability]string{
	CapChown: "chown", CapDACOverride: "dac_override", CapFowner: "fowner", CapFsetid: "fsetid", CapIPCLock: "ipc_lock",
}

// String is the capability's name as capabilities(7) spells it, without
// the CAP_ prefix, in lower case ("dac_override").
func (c Capability) String() string {
	if n, ok := capNames[c]; ok {
		return n
	}
	return "cap" + strconv.Itoa(int(c))
}

// What each data path that QEMU cannot serve unprivileged keeps, and why.
var (
	// NinePCaps: QEMU serves a 9p share's files itself (there is no
	// separate 9p server in QEMU 7.2 but the deprecated proxy helper),
	// with the guest's ownership passed through (security_model
	// passthrough): it must read and write files and directories of every
	// owner, give created files to the guest's uid and gid, and set modes
	// and set-id bits on files it does not own. (QEMU 7.2's 9p creates no
	// device node, as root either: no CAP_MKNOD.)
	NinePCaps = []Capability{CapChown, CapDACOverride, CapFowner, CapFsetid}
	// VhostUserNetCaps: QEMU 7.2 connects to a vhost-user NIC's backend
	// socket by path (a chardev passed as an fd cannot pass the guest
	// memory's fds, which vhost-user-net requires), and that socket is the
	// backend's, not QEMU's user's, as are the directories above it.
	VhostUserNetCaps = []Capability{CapDACOverride}
	// VFIOCaps: a passed-through function's DMA pins the whole guest RAM,
	// beyond any memlock limit Kite could give QEMU without
	// CAP_SYS_RESOURCE; the group's device node itself is handed to the
	// user (HandOverVFIO).
	VFIOCaps = []Capability{CapIPCLock}
)

// capsOf is what QEMU must keep for the parts on its command line:
// derived from what QEMU is told to do (an -fsdev, a vhost-user netdev, a
// vfio-pci device), whatever device type rendered it.
func capsOf(p Parts) []Capability {
	var caps []Capability
	if len(p.Fsdevs) > 0 {
		caps = append(caps, NinePCaps...)
	}
	for _, n := range p.Netdevs {
		if n.Type == "vhost-user" {
			caps = append(caps, VhostUserNetCaps...)
		}
	}
	for _, d := range p.Devices {
		if d.Driver == vfioKind {
			caps = append(caps, VFIOCaps...)
		}
	}
	return caps
}

// sortCaps sorts and deduplicates.
func sortCaps(caps []Capability) []Capability {
	out := slices.Clone(caps)
	slices.Sort(out)
	return slices.Compact(out)
}

// hasCap reports whether caps holds c.
func hasCap(caps []Capability, c Capability) bool { return slices.Contains(caps, c) }

// CapNames renders caps for people: "chown, dac_override".
func CapNames(caps []Capability) string {
	names := make([]string, len(caps))
	for i, c := range caps {
		names[i] = c.String()
	}
	return strings.Join(names, ", ")
}
