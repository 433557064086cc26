package blockvol

import (
	"fmt"
	"regexp"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/qemu"
)

// Slot is where the disk goes: a pcie-root-port the caller reserved for it
// (cold plug or a spare port for hot plug). A root port holds one device, at
// slot 0 of its secondary bus, so the guest finds the disk at PCI path
// "<port slot>/00".
type Slot struct {
	Port     string // the root port's QEMU id, the device's bus
	PortSlot int    // the root port's slot on the root bus (its addr), 0..31
}

// Plan is what attaching one volume takes.
type Plan struct {
	Device  qemu.VirtioBlk
	Storage *protocol.Storage
}

var idRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,30}$`)

// PlanVolume plans volume v as QEMU device id, on slot, mounted by the agent
// as storage id at mountPoint ("" for the agent's default). The disk uses
// the host page cache and QEMU's thread pool (cache.direct off, aio
// threads): O_DIRECT and native AIO need aligned, preallocated storage and
// buy nothing under TCG, and io_uring is not in every host kernel's
// seccomp profile; a read-only volume is read-only in QEMU too, so the guest
// cannot write it even by remounting.
func PlanVolume(v Volume, id string, slot Slot, mountPoint string) (Plan, error) {
	if !idRE.MatchString(id) {
		return Plan{}, fmt.Errorf("%w: volume id %q: want a letter, then letters, digits and _.- (at most 31)", ErrInvalid, id)
	}
	if slot.Port == "" || slot.PortSlot < 0 || slot.PortSlot > 0x1f {
		return Plan{}, fmt.Errorf("%w: volume %q: root port %q at slot %d (want a port id and a slot 0..31)", ErrInvalid, id, slot.Port, slot.PortSlot)
	}
	if v.FSType == "" || v.Kind == 0 {
		return Plan{}, fmt.Errorf("%w: volume %q: not classified (use Classify)", ErrInvalid, id)
	}
	dev := qemu.VirtioBlk{ID: id, Bus: slot.Port, Path: v.Source, HostDevice: v.Kind == Device,
		ReadOnly: v.ReadOnly, AIO: qemu.AIOThreads}
	if err := dev.Validate(); err != nil {
		return Plan{}, fmt.Errorf("%w: volume %q: %w", ErrInvalid, id, err)
	}
	st := &protocol.Storage{
		Id:           id,
		Driver:       protocol.StorageDriver_STORAGE_DRIVER_BLK,
		MountPoint:   mountPoint,
		Fstype:       v.FSType,
		Options:      append([]string(nil), v.Options...),
		Readonly:     v.ReadOnly,
		GuestPciPath: fmt.Sprintf("%02x/00", slot.PortSlot),
	}
	if v.ReadOnly && v.FSType == "ext4" {
		// A read-only ext4 with a dirty journal would be replayed, a write.
		st.Options = append(st.Options, "noload")
	}
	return Plan{Device: dev, Storage: st}, nil
}
