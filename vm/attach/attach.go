package attach

import (
	"context"
	"time"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
)

// Attachment is one device a subsystem owns, planned: what it is, where it
// goes (its root port, its guest PCI path) and what the machine must offer
// it are fixed when it is made; Attach only opens, binds and starts.
type Attachment interface {
	// Name identifies the attachment in its VM (letters, digits, _.-): the
	// QEMU ids of its parts derive from it.
	Name() string
	// Needs is what the machine must offer the device, known at plan time.
	Needs() Needs
	// Attach does the host side: binds a function to vfio-pci, opens tap
	// queues in the pod netns, starts a virtiofsd... Each step registers its
	// undo on host as soon as it succeeds, so that a failure half way, or a
	// detach later, leaves the host as it was. It returns the device to plug
	// and what the guest must then do.
	Attach(ctx context.Context, host *cleanup.Stack) (Plugged, error)
}

// Needs is what an attachment requires of the machine it goes into.
type Needs struct {
	// SharedMemory: a vhost-user backend (virtiofsd, a DPDK switch) maps
	// the guest's RAM, which must then be shared (memfd or hugetlbfs).
	SharedMemory bool
	// NVDIMMBytes is the size of an NVDIMM: it takes a memory slot and that
	// much of the room between the RAM and maxmem.
	NVDIMMBytes int64
	// Sockets are the unix sockets the device's backend binds or QEMU
	// connects to, checked against the kernel's path limit at plan time.
	Sockets []string
}

// Plugged is an attachment whose host side is done.
type Plugged struct {
	// Device is the QEMU device: on the command line at boot, or plugged
	// over QMP into a running VM.
	Device qemu.Device
	// Guest is what the agent must do once the device is there; nil when
	// the guest needs nothing (a share mounted with the sandbox, a 9p
	// backend reserved for later).
	Guest Guest
}

// Result is what carrying out an attachment's guest request gave.
type Result struct {
	// MountPoint is where an AddStorage request mounted the storage.
	MountPoint string
	// GuestName and DevPath are what an AddDevice request reported: the
	// function's guest address, and its /dev node in vfio mode.
	GuestName, DevPath string
	// Timings of a hot plug; zero for a cold one.
	Timings Timings
}

// Timings split a hot plug's latency: from the first QMP command to
// device_add's answer, to the guest seeing the device, to the agent having
// set it up.
type Timings struct {
	QMP        time.Duration
	Visible    time.Duration
	Configured time.Duration
}

// Previewer is an attachment whose device is known before Attach, because
// it opens no file (a share, a function, a disk): plans that hold only such
// attachments can be rendered and checked whole before anything runs.
type Previewer interface {
	Preview() qemu.Device
}

// Backed is an attachment whose device is served by a host process it
// started (a virtiofsd). QEMU fails when such a process dies under it,
// with an error about a socket; the machine asks the attachment whether
// its backend died first, so that the error names the real cause.
type Backed interface {
	// BackendDone is closed when the backend has exited; nil before
	// Attach, or when the attachment has no process.
	BackendDone() <-chan struct{}
	// BackendDeath says which backend died, how, and what its log said
	// last. It is only asked once BackendDone is closed.
	BackendDeath() error
}
