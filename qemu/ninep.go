package qemu

const ninePKind = "9p"

// max9PTag is QEMU 7.2's limit on a 9p mount tag.
const max9PTag = 31

// SecurityModel is how a 9p share maps guest ownership onto the host.
type SecurityModel string

// 9p security models.
const (
	SecurityPassthrough SecurityModel = "passthrough"
	SecurityMappedXattr SecurityModel = "mapped-xattr"
	SecurityMappedFile  SecurityModel = "mapped-file"
	SecurityNone        SecurityModel = "none"
)

// NineP is a virtio-9p-pci share of a host directory. Hot-plugging one needs
// its Fsdev on the command line already: QEMU 7.2 has no QMP fsdev_add.
type NineP struct {
	ID            string
	Bus           string
	Path          string // host directory
	Tag           string // mount -t 9p -o trans=virtio,version=9p2000.L TAG
	SecurityModel SecurityModel
	ReadOnly      bool
}

// Validate checks the spec alone.
func (n NineP) Validate() error {
	if err := firstErr(checkID(ninePKind, n.ID), checkPath(ninePKind, n.ID, "Path", n.Path)); err != nil {
		return err
	}
	if n.Tag == "" || len(n.Tag) > max9PTag {
		return invalid(ninePKind, n.ID, "Tag", "must be 1..%d bytes, got %d", max9PTag, len(n.Tag))
	}
	switch n.SecurityModel {
	case SecurityPassthrough, SecurityMappedXattr, SecurityMappedFile, SecurityNone:
		return nil
	}
	return invalid(ninePKind, n.ID, "SecurityModel", "%q is not passthrough, mapped-xattr, mapped-file or none", n.SecurityModel)
}

// Parts returns the fsdev and the device.
func (n NineP) Parts(FDs) Parts {
	props := []Prop{Str("path", n.Path), Str("security_model", string(n.SecurityModel))}
	props = onIf(props, "readonly", n.ReadOnly)
	return Parts{
		Fsdevs: []Fsdev{{Driver: "local", ID: n.ID, Props: props}},
		Devices: []DeviceProps{{Driver: "virtio-9p-pci", ID: n.ID, Bus: n.Bus, Props: []Prop{
			Str("fsdev", n.ID), Str("mount_tag", n.Tag),
		}}},
	}
}
