package runtime

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
)

// DAXVolume is a read-only data image the guest maps with DAX: an ext4
// image with the NVDIMM PFN-info prefix (fsshare/nvdimm.BuildImage, kite
// volume build-dax), attached as an NVDIMM at boot (QEMU cannot hot-plug
// one). The caller checks it (nvdimm.CheckImage) and gives its size.
type DAXVolume struct {
	// Name identifies the volume: its storage is "dax-<name>".
	Name string
	Path string
	Size int64
}

// daxPlan is a DAX volume's NVDIMM and how the agent mounts it.
type daxPlan struct {
	Name    string
	path    string // the image, as the spec names it
	Storage *protocol.Storage
}

// planDAX turns the DAX volumes into read-only NVDIMMs after the guest
// root's, so the guest names them pmem<first>, pmem<first+1>... in order,
// and checks they fit the memory slots and maxmem.
func planDAX(cfg *configs.Config, vols []DAXVolume, first int, rootBytes int64) ([]daxPlan, []qemu.Device, error) {
	if len(vols) == 0 {
		return nil, nil, nil
	}
	h := cfg.Hypervisor
	if h.MemorySlots < first+len(vols) || h.MaxMemoryMiB <= h.MemoryMiB {
		return nil, nil, fmt.Errorf("%w: %d DAX volumes need as many hypervisor.memory_slots (have %d, %d taken) and max_memory_mib above memory_mib",
			ErrInvalid, len(vols), h.MemorySlots, first)
	}
	total := rootBytes
	var plans []daxPlan
	var devs []qemu.Device
	seen := map[string]bool{}
	for i, v := range vols {
		if !volumeNameRE.MatchString(v.Name) || seen[v.Name] {
			return nil, nil, fmt.Errorf("%w: DAX volume name %q: want unique letters, digits and _.-", ErrInvalid, v.Name)
		}
		seen[v.Name] = true
		id := "dax-" + v.Name
		devs = append(devs, qemu.NVDIMM{ID: id, Path: v.Path, Size: v.Size, ReadOnly: true, Unarmed: true})
		plans = append(plans, daxPlan{Name: v.Name, path: filepath.Clean(v.Path), Storage: &protocol.Storage{
			Id: id, Driver: protocol.StorageDriver_STORAGE_DRIVER_PMEM, Source: "pmem" + strconv.Itoa(first+i),
			Fstype: "ext4", Options: []string{"dax=always", "noload"}, Readonly: true,
		}})
		total += v.Size
	}
	if need := h.MemoryMiB + int((total+(1<<20)-1)>>20); h.MaxMemoryMiB < need {
		return nil, nil, fmt.Errorf("%w: hypervisor.max_memory_mib %d: the DAX volumes need at least %d with memory_mib %d",
			ErrInvalid, h.MaxMemoryMiB, need, h.MemoryMiB)
	}
	return plans, devs, nil
}

// DAXStorages are the agent storages that mount the DAX volumes, for
// CreateSandbox; each is at SharedGuestPath-like StorageRoot/dax-<name>.
func (p VMPlan) DAXStorages() []*protocol.Storage {
	var out []*protocol.Storage
	for _, d := range p.DAX {
		out = append(out, d.Storage)
	}
	return out
}
