package qemu

const balloonKind = "balloon"

// Balloon is a virtio-balloon-pci device. Kite does not inflate it: it is
// there for free page reporting, by which the guest tells QEMU which of its
// pages it has freed (in blocks of 2 MiB, a couple of seconds after they
// became free) and QEMU gives them back to the host: MADV_DONTNEED on
// private RAM, a hole punched in the memfd of shared RAM (virtio-fs,
// vhost-user). Without it a guest's RAM only grows: every page it ever
// touched stays resident in QEMU. QEMU skips the discards while anything
// pins guest RAM (VFIO), so the device is harmless there.
type Balloon struct {
	ID string
	// Bus is the controller's bus: "" for the root bus. Never a hot-plug
	// root port: the device is there from boot to the end.
	Bus string
	// FreePageReporting turns the reporting on (free-page-reporting).
	FreePageReporting bool
	// DeflateOnOOM lets the guest take pages back from an inflated balloon
	// instead of killing a process when it runs out of memory.
	DeflateOnOOM bool
}

// Validate checks the spec alone.
func (b Balloon) Validate() error { return checkID(balloonKind, b.ID) }

// Parts returns the device.
func (b Balloon) Parts(FDs) Parts {
	return Parts{Devices: []DeviceProps{{Driver: "virtio-balloon-pci", ID: b.ID, Bus: b.Bus, Props: []Prop{
		Bool("free-page-reporting", b.FreePageReporting), Bool("deflate-on-oom", b.DeflateOnOOM),
	}}}}
}
