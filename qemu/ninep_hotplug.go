package qemu

// NinePReserve is an -fsdev alone, for a 9p share hot-plugged later with
// NinePOnFsdev: QEMU 7.2 has no QMP fsdev_add, so the backend must be on
// the command line from the start. It serves Path, a directory the runtime
// later binds a volume into.
type NinePReserve struct {
	ID            string
	Path          string
	SecurityModel SecurityModel
}

// Validate checks the spec alone.
func (n NinePReserve) Validate() error {
	return NineP{ID: n.ID, Path: n.Path, Tag: n.ID, SecurityModel: n.SecurityModel}.Validate()
}

// Parts returns the fsdev only.
func (n NinePReserve) Parts(fds FDs) Parts {
	p := NineP{ID: n.ID, Path: n.Path, Tag: n.ID, SecurityModel: n.SecurityModel}.Parts(fds)
	p.Devices = nil
	return p
}

// NinePOnFsdev is a virtio-9p-pci device over an fsdev reserved on the
// command line (NinePReserve): what hot-plugging a 9p share adds.
type NinePOnFsdev struct {
	ID    string
	Bus   string
	Fsdev string // the NinePReserve's ID
	Tag   string
}

// Validate checks the spec alone.
func (n NinePOnFsdev) Validate() error {
	if err := firstErr(checkID(ninePKind, n.ID), checkID(ninePKind, n.Fsdev)); err != nil {
		return err
	}
	if n.Tag == "" || len(n.Tag) > max9PTag {
		return invalid(ninePKind, n.ID, "Tag", "must be 1..%d bytes, got %d", max9PTag, len(n.Tag))
	}
	return nil
}

// Parts returns the device only.
func (n NinePOnFsdev) Parts(FDs) Parts {
	return Parts{Devices: []DeviceProps{{Driver: "virtio-9p-pci", ID: n.ID, Bus: n.Bus, Props: []Prop{
		Str("fsdev", n.Fsdev), Str("mount_tag", n.Tag),
	}}}}
}
