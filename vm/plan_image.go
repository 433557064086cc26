package vm

import (
	"fmt"
	"strings"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
)

// rootNVDIMMID is the QEMU id of the NVDIMM holding the guest root image.
const rootNVDIMMID = "guestroot"

// rootKernelArgs tell the stage initramfs of `kite guest build --format
// nvdimm` where the root is (agent/server/initsys.ParseRoot). The root
// NVDIMM is the first on the command line, so the guest names it pmem0.
// Read-only: one image file is shared by every VM, mapped read-only.
var rootKernelArgs = []string{"root=/dev/pmem0", "rootfstype=ext4", "rootflags=dax=always", "ro"}

// guestImage is what the guest's root adds to the VM beyond the kernel and
// initramfs: nothing for guest.image_type "initramfs"; for "nvdimm", the
// root image as a read-only NVDIMM (q35 nvdimm=on, a memory slot and maxmem
// follow from it) and the root= words.
type guestImage struct {
	devices    []qemu.Device
	kernelArgs []string
	size       int64 // of the root NVDIMM, 0 without one
}

// planImage plans the guest root. For "nvdimm" the collect step has read
// the image's size and checked its PFN info block (nvdimm.CheckImage): QEMU
// must be told the size, and an image without the header would boot into a
// guest that cannot mount its root.
func planImage(cfg *configs.Config, root *RootImage) (guestImage, error) {
	switch cfg.Guest.ImageType {
	case configs.ImageInitramfs:
		return guestImage{}, nil
	case configs.ImageNVDIMM:
	default:
		return guestImage{}, fmt.Errorf("%w: guest.image_type %q", ErrUnsupported, cfg.Guest.ImageType)
	}
	if root == nil || root.Size <= 0 {
		return guestImage{}, fmt.Errorf("%w: guest.image_type is \"nvdimm\" but the root image %s was not read (Input.RootImage)", ErrInvalid, cfg.Guest.ImagePath())
	}
	h := cfg.Hypervisor
	if need := h.MemoryMiB + int((root.Size+(1<<20)-1)>>20); h.MaxMemoryMiB < need {
		return guestImage{}, fmt.Errorf("%w: hypervisor.max_memory_mib %d: the guest root image %q (%d MiB) needs at least %d with memory_mib %d",
			ErrInvalid, h.MaxMemoryMiB, root.Path, root.Size>>20, need, h.MemoryMiB)
	}
	return guestImage{
		devices:    []qemu.Device{qemu.NVDIMM{ID: rootNVDIMMID, Path: root.Path, Size: root.Size, ReadOnly: true, Unarmed: true}},
		kernelArgs: rootKernelArgs,
		size:       root.Size,
	}, nil
}

// cmdline puts the root words before the rest of the line, so the
// operator's kernel_params, which come last, can still override them.
func (g guestImage) cmdline(rest string) string {
	return strings.TrimSpace(strings.Join(append(append([]string(nil), g.kernelArgs...), rest), " "))
}
