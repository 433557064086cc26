package qemu

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
func (n NVDIMM) Parts(FDs) Parts {
	props := []Prop{Str("mem-path", n.Path), Int("size", n.Size), Bool("share", true)}
	props = onIf(props, "readonly", n.ReadOnly)
	var dev []Prop
	dev = append(dev, Str("memdev", n.ID))
	dev = onIf(dev, "unarmed", n.Unarmed)
	return Parts{
		Objects: []Object{{QOMType: "memory-backend-file", ID: n.ID, Props: props}},
		Devices: []DeviceProps{{Driver: "nvdimm", ID: n.ID, Props: dev}},
	}
}

func (n NVDIMM) needs() machineNeeds {
	return machineNeeds{kind: nvdimmKind, id: n.ID, nvdimmBytes: n.Size}
}
