package qemu

import "os"

const nvdimmKind = "nvdimm"

// NVDIMM is an emulated persistent-memory DIMM backed by a host file: with a
// PFN info block in the image the guest gets fsdax and mounts with -o dax.
// It needs q35, a free memory slot (Memory.Slots) and room under
// Memory.MaxMiB; the machine gets nvdimm=on automatically.
type NVDIMM struct {
	ID       string
	Path     string // host image file
	Size     int64  // bytes mapped from Path
	ReadOnly bool   // QEMU demands Unarmed with it
	Unarmed  bool   // tells the guest the DIMM cannot persist writes
	// File, when set, is Path opened by the caller (read-only with
	// ReadOnly), passed to QEMU, which opens it as /proc/self/fd/N: QEMU
	// 7.2's file memory backend takes a path only, and this one needs no
	// search permission on Path's directories, only read (and write)
	// permission on the image itself. nil lets QEMU open Path.
	File *os.File
}

// Validate checks the spec alone.
func (n NVDIMM) Validate() error {
	if err := firstErr(checkID(nvdimmKind, n.ID), checkPath(nvdimmKind, n.ID, "Path", n.Path)); err != nil {
		return err
	}
	if n.Size <= 0 {
		return invalid(nvdimmKind, n.ID, "Size", "must be > 0, got %d", n.Size)
	}
	if n.ReadOnly && !n.Unarmed {
		return invalid(nvdimmKind, n.ID, "Unarmed", "must be set with ReadOnly (QEMU refuses a read-only armed NVDIMM)")
	}
	return nil
}

// Parts returns the file memory backend and the nvdimm device (not PCI: it
// has no bus).
func (n NVDIMM) Parts(fds FDs) Parts {
	path := n.Path
	var handed []pathUse
	if n.File != nil {
		path = "/proc/self/fd/" + fds.Ref(n.File)
		handed = append(handed, pathUse{what: "NVDIMM image of " + n.ID, path: n.Path, file: n.File, write: !n.ReadOnly})
	}
	props := []Prop{Str("mem-path", path), Int("size", n.Size), Bool("share", true)}
	props = onIf(props, "readonly", n.ReadOnly)
	var dev []Prop
	dev = append(dev, Str("memdev", n.ID))
	dev = onIf(dev, "unarmed", n.Unarmed)
	return Parts{
		Objects: []Object{{QOMType: "memory-backend-file", ID: n.ID, Props: props}},
		Devices: []DeviceProps{{Driver: "nvdimm", ID: n.ID, Props: dev}},
		handed:  handed,
	}
}

func (n NVDIMM) needs() machineNeeds {
	return machineNeeds{kind: nvdimmKind, id: n.ID, nvdimmBytes: n.Size}
}
