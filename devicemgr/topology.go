package devicemgr

import (
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/kite-vm/kite/qemu"
)

// ErrNoPort: the guest PCI topology has no root port left.
var ErrNoPort = errors.New("no root port left")

// portPrefix names the root ports: rp0, rp1, ... in allocation order.
const portPrefix = "rp"

// portSlots are the slots of the PCIe root bus root ports go in, in order.
// Slot 0 is the host bridge and 0x1f the ICH9 LPC, SMBus and SATA
// functions on q35. The ports start at 0x08 so that the devices QEMU places
// on the root bus itself (the agent's serial port, shares, NICs plugged at
// boot) find the low slots free: QEMU realizes the ports first (they come
// first on the command line) and fills the free slots after.
var portSlots = func() []int {
	var s []int
	for slot := 0x08; slot <= 0x1e; slot++ {
		s = append(s, slot)
	}
	for slot := 0x07; slot >= 0x01; slot-- {
		s = append(s, slot)
	}
	return s
}()

// MaxRootPorts is how many root ports a VM can have.
var MaxRootPorts = len(portSlots)

// Port is a PCIe root port of the guest, at a fixed slot of the root bus,
// holding one device.
type Port struct {
	qemu.RootPort
	// BusSlot is the port's slot on the root bus.
	BusSlot int
}

// GuestPath is the guest PCI path of the device behind the port: the
// port's slot on the root bus, then the device's slot on the port's bus,
// as the agent resolves them (agent/server/pcipath).
func (p Port) GuestPath() string { return fmt.Sprintf("%02x/00", p.BusSlot) }

// Topology is a VM's guest PCI topology: one allocator for every root port,
// those of devices plugged at boot and the spares that take devices
// plugged later. Each port sits at a fixed slot, so a device's guest PCI
// path is known when the device is planned, before QEMU runs. It is safe
// for concurrent use.
type Topology struct {
	mu     sync.Mutex
	ports  []Port            // guarded by mu: in allocation order
	holder map[string]string // guarded by mu: port id -> what it holds; absent: spare
}

// NewTopology returns a topology without ports.
func NewTopology() *Topology { return &Topology{holder: map[string]string{}} }

// Reserve adds a port for a device plugged at boot, held by holder.
func (t *Topology) Reserve(holder string) (Port, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, err := t.addLocked()
	if err != nil {
		return Port{}, fmt.Errorf("reserving a root port for %s: %w", holder, err)
	}
	t.holder[p.ID] = holder
	return p, nil
}

// AddSpares adds n free ports for hot plug.
func (t *Topology) AddSpares(n int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for range n {
		if _, err := t.addLocked(); err != nil {
			return fmt.Errorf("adding %d spare root ports: %w", n, err)
		}
	}
	return nil
}

func (t *Topology) addLocked() (Port, error) {
	i := len(t.ports)
	if i >= len(portSlots) {
		return Port{}, fmt.Errorf("%w: a VM has at most %d (passed-through devices plus hotplug.spare_root_ports)", ErrNoPort, len(portSlots))
	}
	slot := portSlots[i]
	p := Port{BusSlot: slot, RootPort: qemu.RootPort{
		ID: portPrefix + strconv.Itoa(i), Chassis: i + 1, Slot: i + 1, Addr: fmt.Sprintf("0x%x", slot),
	}}
	t.ports = append(t.ports, p)
	return p, nil
}

// Take hands a spare port to holder, a device about to be hot-plugged.
func (t *Topology) Take(holder string) (Port, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.ports {
		if _, used := t.holder[p.ID]; !used {
			t.holder[p.ID] = holder
			return p, nil
		}
	}
	return Port{}, fmt.Errorf("%w for %s (%d in use; raise hotplug.spare_root_ports)", ErrNoPort, holder, len(t.holder))
}

// Release makes a port spare again once its device is unplugged.
func (t *Topology) Release(port Port) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.holder, port.ID)
}

// RootPorts are the QEMU root ports, in allocation order, for the plan.
func (t *Topology) RootPorts() []qemu.RootPort {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]qemu.RootPort, len(t.ports))
	for i, p := range t.ports {
		out[i] = p.RootPort
	}
	return out
}
