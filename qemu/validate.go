package qemu

import (
	"os"
	"strconv"
	"strings"
)

// Validate checks the whole config: every field and spec on its own, then
// the rules between them. Errors are *SpecError naming the device and field.
func (c Config) Validate() error {
	if err := c.validateFields(); err != nil {
		return err
	}
	if err := c.validateRootPorts(); err != nil {
		return err
	}
	for _, d := range c.Devices {
		if d == nil {
			return invalid("", "", "Devices", "holds a nil device")
		}
		if err := d.Validate(); err != nil {
			return err
		}
	}
	if err := c.validateTopology(); err != nil {
		return err
	}
	return c.validateNeeds()
}

func (c Config) validateFields() error {
	for _, f := range []struct{ name, value string }{
		{"Name", c.Name}, {"Binary", c.Binary}, {"QMPSocket", c.QMPSocket}, {"PidFile", c.PidFile},
	} {
		if f.value == "" {
			return invalid("", "", f.name, "must not be empty")
		}
	}
	if c.ConsoleLog != "" {
		if err := checkPath("", "", "ConsoleLog", c.ConsoleLog); err != nil {
			return err
		}
	}
	if c.ConsoleLogMax < 0 || c.ConsoleLogMax == 1 {
		return invalid("", "", "ConsoleLogMax", "%d: want 0 (unbounded) or at least 2 bytes, half for each generation", c.ConsoleLogMax)
	}
	if c.CPU.Model == "host" && c.Accel.Type != AccelKVM {
		return invalid("", "", "CPU.Model", "host needs the kvm accelerator (try max)")
	}
	return firstErr(
		checkPath("", "", "QMPSocket", c.QMPSocket),
		checkPath("", "", "PidFile", c.PidFile),
		c.Machine.Validate(), c.Accel.Validate(), c.CPU.Validate(), c.Memory.Validate(), c.Kernel.Validate(),
	)
}

func (c Config) validateRootPorts() error {
	type chassisSlot struct{ chassis, slot int }
	ids := map[string]bool{}
	slots := map[chassisSlot]string{}
	for _, r := range c.RootPorts {
		if err := r.Validate(); err != nil {
			return err
		}
		if ids[r.ID] {
			return invalid(rootPortKind, r.ID, "ID", "duplicate id")
		}
		ids[r.ID] = true
		cs := chassisSlot{r.Chassis, r.Slot}
		if other, ok := slots[cs]; ok {
			return invalid(rootPortKind, r.ID, "Slot", "chassis %d slot %d is taken by %q", r.Chassis, r.Slot, other)
		}
		slots[cs] = r.ID
	}
	return nil
}

// namespaces tracks ids per QEMU namespace: a netdev and a device may share
// an id (Kite's devices do, so removing one is simple), two devices may not.
type namespaces map[string]map[string]bool

func (n namespaces) claim(space, id string) bool {
	if n[space] == nil {
		n[space] = map[string]bool{}
	}
	if n[space][id] {
		return false
	}
	n[space][id] = true
	return true
}

// validateTopology checks ids per namespace and buses: a device sits on the
// root bus, on a root port (one device per port: a PCIe port has a single
// slot), or on a bus an earlier device provides (<id>.0).
func (c Config) validateTopology() error {
	ns := namespaces{}
	ns.claim("object", memObjectID)
	ns.claim("chardev", qmpChardevID)
	ns.claim("chardev", consoleChardevID)
	if c.Machine.IOMMU {
		ns.claim("device", iommuID)
	}
	ports := map[string]string{} // root port -> device on it
	for _, r := range c.RootPorts {
		ns.claim("device", r.ID)
		ports[r.ID] = ""
	}
	for _, d := range c.Devices {
		p := d.Parts(discardFDs{})
		if err := p.claim(ns); err != nil {
			return err
		}
		for _, dev := range p.Devices {
			if err := checkBus(dev, ports, ns); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p Parts) claim(ns namespaces) error {
	var ids []struct{ space, id, driver string }
	add := func(space, id, driver string) {
		ids = append(ids, struct{ space, id, driver string }{space, id, driver})
	}
	for _, o := range p.Objects {
		add("object", o.ID, o.QOMType)
	}
	for _, ch := range p.Chardevs {
		add("chardev", ch.ID, "chardev")
	}
	for _, n := range p.Netdevs {
		add("netdev", n.ID, "netdev")
	}
	for _, f := range p.Fsdevs {
		add("fsdev", f.ID, "fsdev")
	}
	for _, b := range p.Blockdevs {
		add("block node", b.NodeName, "blockdev")
	}
	for _, d := range p.Devices {
		add("device", d.ID, d.Driver)
	}
	for _, x := range ids {
		if !ns.claim(x.space, x.id) {
			return invalid(x.driver, x.id, "ID", "duplicate %s id", x.space)
		}
	}
	return nil
}

func checkBus(dev DeviceProps, ports map[string]string, ns namespaces) error {
	switch occupant, isPort := ports[dev.Bus]; {
	case dev.Bus == "" || dev.Bus == rootBus:
		return nil
	case isPort && occupant != "":
		return invalid(dev.Driver, dev.ID, "Bus", "root port %q already holds %q", dev.Bus, occupant)
	case isPort:
		ports[dev.Bus] = dev.ID
		return nil
	}
	if owner, ok := cutBusSuffix(dev.Bus); ok && ns["device"][owner] {
		return nil
	}
	return invalid(dev.Driver, dev.ID, "Bus", "%q is not a root port or an earlier device's bus", dev.Bus)
}

// cutBusSuffix turns "vser0.0" into "vser0": the bus a device provides.
func cutBusSuffix(bus string) (string, bool) {
	i := strings.LastIndexByte(bus, '.')
	if i <= 0 {
		return "", false
	}
	_, err := strconv.Atoi(bus[i+1:])
	return bus[:i], err == nil
}

// validateNeeds checks what devices require of the machine.
func (c Config) validateNeeds() error {
	var nvdimms int
	var nvdimmBytes int64
	for _, d := range c.Devices {
		n, ok := d.(needer)
		if !ok {
			continue
		}
		need := n.needs()
		if need.sharedMemory && !c.Memory.Shared {
			return invalid(need.kind, need.id, "Memory.Shared", "vhost-user needs shared guest memory: set Memory.Shared")
		}
		if need.nvdimmBytes == 0 {
			continue
		}
		if c.Machine.Type != MachineQ35 {
			return invalid(need.kind, need.id, "Machine.Type", "NVDIMM needs q35")
		}
		nvdimms++
		nvdimmBytes += need.nvdimmBytes
		if nvdimms > c.Memory.Slots {
			return invalid(need.kind, need.id, "Memory.Slots", "%d NVDIMMs need %d slots, have %d", nvdimms, nvdimms, c.Memory.Slots)
		}
		if room := int64(c.Memory.MaxMiB-c.Memory.SizeMiB) * mib; nvdimmBytes > room {
			return invalid(need.kind, need.id, "Memory.MaxMiB", "NVDIMMs take %d bytes, MaxMiB leaves %d above SizeMiB", nvdimmBytes, room)
		}
	}
	return nil
}

// discardFDs lets validation walk Parts without numbering files.
type discardFDs struct{}

func (discardFDs) Ref(*os.File) string { return "" }
