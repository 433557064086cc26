package devicemgr

import (
	"errors"
	"fmt"
	"os"

	"github.com/kite-vm/kite/qemu"
)

// StandIn is a QEMU-emulated device placed where a host PCI function would
// be passed through, so that everything the guest does with a function
// runs for real on hosts without SR-IOV hardware or an IOMMU (CI): the
// function keeps its claim, its root port, its guest PCI path and its
// agent request, and only the device QEMU renders differs (an emulated NIC
// or NVMe controller instead of vfio-pci), with nothing bound on the host.
//
// It is a test seam, not a feature: no configuration knob, annotation or
// front end builds one; a test hands them to the engine (sandbox.Config)
// by the host address they stand for.
type StandIn struct {
	// NIC is the emulated NIC model standing in for a network function,
	// with MAC (the address its VF would have) on Tap, an open tap fd the
	// test owns (IFF_TAP|IFF_NO_PI).
	NIC qemu.NICModel
	MAC string
	Tap *os.File
	// NVMeImage is the raw image of the namespace of an emulated NVMe
	// controller standing in for a storage function.
	NVMeImage string
	// Netdev is the link of the pod netns that stands for the function's
	// netdev (a VF the SR-IOV CNI moved there), "" for none: the collect
	// step then records it as the physical endpoint of this function.
	Netdev string
}

// ErrStandIn marks a stand-in that says neither or both of NIC and NVMe.
var ErrStandIn = errors.New("invalid stand-in device")

// device is the QEMU device standing in for the function id on port.
func (s *StandIn) device(id string, port Port) (qemu.Device, error) {
	switch {
	case s.NIC != "" && s.NVMeImage == "":
		return qemu.EmulatedNIC{ID: id, Bus: port.ID, Model: s.NIC, MAC: s.MAC, Tap: s.Tap}, nil
	case s.NVMeImage != "" && s.NIC == "":
		return qemu.NVMe{ID: id, Bus: port.ID, Serial: "kite-" + id, Path: s.NVMeImage}, nil
	}
	return nil, fmt.Errorf("%w for function %s: set NIC (with Tap) or NVMeImage, one of them", ErrStandIn, id)
}
