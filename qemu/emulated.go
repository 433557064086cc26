package qemu

import "os"

const (
	nvmeKind        = "nvme"
	emulatedNICKind = "emulated-nic"
)

// NICModel is an emulated PCIe NIC that a guest drives with the same kernel
// driver (or DPDK PMD) as the hardware it models.
type NICModel string

// Emulated NIC models: e1000e is in every QEMU Kite supports; igb (82576,
// whose VFs igbvf drives) needs QEMU 8.0 or later.
const (
	NICE1000E NICModel = "e1000e"
	NICIGB    NICModel = "igb"
)

// EmulatedNIC is a QEMU-emulated Intel NIC on a tap device opened by the
// caller. Kite never plans one for a sandbox on its own: it stands in for a
// passed-through function where the host has none (devicemgr.StandIn).
type EmulatedNIC struct {
	ID    string
	Bus   string // root port ID
	Model NICModel
	MAC   string // "" lets QEMU pick
	// Tap is an open tap fd (TUNSETIFF IFF_TAP|IFF_NO_PI), one queue.
	Tap *os.File
}

// Validate checks the spec alone.
func (n EmulatedNIC) Validate() error {
	if err := firstErr(checkID(emulatedNICKind, n.ID), checkMAC(emulatedNICKind, n.ID, n.MAC)); err != nil {
		return err
	}
	switch {
	case n.Model != NICE1000E && n.Model != NICIGB:
		return invalid(emulatedNICKind, n.ID, "Model", "%q is not e1000e or igb", n.Model)
	case n.Tap == nil:
		return invalid(emulatedNICKind, n.ID, "Tap", "must be an open tap fd")
	}
	return nil
}

// Parts returns the tap netdev and the NIC, without an option ROM.
func (n EmulatedNIC) Parts(fds FDs) Parts {
	props := []Prop{Str("netdev", n.ID)}
	props = strIf(props, "mac", n.MAC)
	props = append(props, Str("romfile", ""))
	return Parts{
		Netdevs: []Netdev{{Type: "tap", ID: n.ID, Props: []Prop{Str("fd", fds.Ref(n.Tap)), Bool("vhost", false)}}},
		Devices: []DeviceProps{{Driver: string(n.Model), ID: n.ID, Bus: n.Bus, Props: props}},
	}
}

// NVMe is a QEMU-emulated NVMe controller whose one namespace is a raw
// image file. Like EmulatedNIC, it only stands in for a passed-through
// function (devicemgr.StandIn).
type NVMe struct {
	ID     string
	Bus    string // root port ID
	Serial string // the controller's serial number, required by QEMU
	Path   string // the namespace's image
}

// Validate checks the spec alone.
func (n NVMe) Validate() error {
	if err := firstErr(checkID(nvmeKind, n.ID), checkPath(nvmeKind, n.ID, "Path", n.Path)); err != nil {
		return err
	}
	if n.Serial == "" || len(n.Serial) > 20 {
		return invalid(nvmeKind, n.ID, "Serial", "%q: want 1 to 20 characters (the NVMe serial number field)", n.Serial)
	}
	return nil
}

// Parts returns the image's protocol and raw nodes and the controller.
func (n NVMe) Parts(FDs) Parts {
	file := n.ID + "-file"
	return Parts{
		Blockdevs: []Blockdev{
			{Driver: "file", NodeName: file, Props: []Prop{Str("filename", n.Path)}},
			{Driver: "raw", NodeName: n.ID, Props: []Prop{Str("file", file)}},
		},
		Devices: []DeviceProps{{Driver: "nvme", ID: n.ID, Bus: n.Bus, Props: []Prop{
			Str("drive", n.ID), Str("serial", n.Serial),
		}}},
	}
}
