package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
)

// ninePSlot is a 9p backend reserved on the command line for a share
// hot-plugged later (QEMU 7.2 has no fsdev_add): it serves Path, an empty
// directory of the sandbox into which AddVolume binds the volume.
type ninePSlot struct {
	Fsdev string // the -fsdev id
	Tag   string // the mount tag the hot-plugged device gets
	Path  string
}

// Directory names in the sandbox directory.
const (
	ninePSlotDir = "9p"   // <Dir>/9p/<n>: the reserved 9p backends' roots
	volumeDir    = "vols" // <Dir>/vols/<name>: binds virtiofsd serves
)

// planNinePSlots reserves hotplug.spare_9p_shares 9p backends.
func planNinePSlots(cfg *configs.Config, dir string) ([]ninePSlot, []qemu.Device) {
	var slots []ninePSlot
	var devs []qemu.Device
	for i := range cfg.Hotplug.Spare9PShares {
		s := ninePSlot{Fsdev: "fs9h" + strconv.Itoa(i), Tag: "kite9h" + strconv.Itoa(i), Path: filepath.Join(dir, ninePSlotDir, strconv.Itoa(i))}
		slots = append(slots, s)
		devs = append(devs, qemu.NinePReserve{ID: s.Fsdev, Path: s.Path, SecurityModel: qemu.SecurityModel(cfg.SharedFS.SecurityModel)})
	}
	return slots, devs
}

// makeNinePSlots creates the reserved 9p backends' directories, which QEMU
// opens at start.
func (b *booter) makeNinePSlots() error {
	slots := b.vm.plan.NinePSlots
	if len(slots) == 0 {
		return nil
	}
	b.vm.pushUndoSimple("remove the 9p backends' directories", func() error {
		var errs []error
		for _, s := range slots {
			errs = append(errs, removeUpTo(s.Path, b.vm.plan.Dir))
		}
		return errors.Join(errs...)
	})
	for _, s := range slots {
		if err := os.MkdirAll(s.Path, 0o700); err != nil {
			return fmt.Errorf("creating 9p backend directory: %w", err)
		}
	}
	return nil
}
