package attach

import (
	"strings"

	"github.com/kite-vm/kite/agent/protocol"
)

// Guest is a request to the agent, carried out by the VM once the device
// is in the guest. The set is closed: AddStorage, AddDevice,
// ConfigureInterface and Steps of them.
type Guest interface {
	// Describe names the request for errors ("mounting storage vol-data").
	Describe() string
	guest()
}

// AddStorage has the agent mount a storage: a share by its tag, a disk or a
// pmem device by its guest PCI path or name. Detaching unmounts it first,
// and a refused unmount (the storage is in use) aborts the detach with
// nothing changed.
type AddStorage struct {
	Storage *protocol.Storage
}

// AddDevice has the agent wait for a PCI function at its guest PCI path and
// give it to the guest kernel's driver, or to vfio-pci in the guest.
type AddDevice struct {
	Device *protocol.Device
}

// ConfigureInterface has the agent configure a NIC found by its MAC (or by
// its guest PCI path when the interface names one: a VF whose driver may
// reset the MAC): its name, MTU and addresses, then the routes and static
// neighbours on it. A hot-plugged NIC found by MAC is first waited for.
type ConfigureInterface struct {
	Interface *protocol.Interface
	Routes    []*protocol.Route
	Neighbors []*protocol.ARPNeighbor
	// Hint is added to an error, to tell a person what to check (a VF
	// needs its driver in the guest image).
	Hint string
}

func (g AddStorage) Describe() string { return "mounting storage " + g.Storage.GetId() }
func (g AddDevice) Describe() string  { return "attaching device " + g.Device.GetId() }
func (g ConfigureInterface) Describe() string {
	return "configuring interface " + g.Interface.GetName()
}

func (AddStorage) guest()         {}
func (AddDevice) guest()          {}
func (ConfigureInterface) guest() {}

// Steps are requests carried out in order, their results merged: a VF NIC
// is first attached as a function, then configured as an interface.
type Steps []Guest

func (s Steps) Describe() string {
	var d []string
	for _, g := range s {
		d = append(d, g.Describe())
	}
	return strings.Join(d, ", then ")
}

func (Steps) guest() {}
