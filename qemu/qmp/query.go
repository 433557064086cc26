package qmp

import "context"

// PCIBus is one bus in query-pci's answer: the root bus, whose devices
// include bridges (root ports) with their secondary buses.
type PCIBus struct {
	Bus     int         `json:"bus"`
	Devices []PCIDevice `json:"devices"`
}

// PCIDevice is the subset of query-pci's device info Kite uses.
type PCIDevice struct {
	Bus       int          `json:"bus"`
	Slot      int          `json:"slot"`
	Function  int          `json:"function"`
	ClassInfo PCIClassInfo `json:"class_info"`
	IDs       PCIIDs       `json:"id"`
	QdevID    string       `json:"qdev_id"` // the id given to -device / device_add; "" for built-ins
	Bridge    *PCIBridge   `json:"pci_bridge,omitempty"`
}

// PCIClassInfo is a device's class code and QEMU's name for it.
type PCIClassInfo struct {
	Class int    `json:"class"` // class and subclass, e.g. 0x0200 Ethernet
	Desc  string `json:"desc"`
}

// PCIIDs are a device's vendor, device and subsystem ids.
type PCIIDs struct {
	Vendor          int `json:"vendor"`
	Device          int `json:"device"`
	SubsystemVendor int `json:"subsystem-vendor"`
	Subsystem       int `json:"subsystem"`
}

// PCIBridge is a bridge's bus numbers and the devices behind it. Secondary
// is 0 until the firmware or guest has numbered the buses, and then QEMU
// lists no devices behind it.
type PCIBridge struct {
	Bus     PCIBridgeBus `json:"bus"`
	Devices []PCIDevice  `json:"devices"`
}

// PCIBridgeBus are a bridge's bus numbers.
type PCIBridgeBus struct {
	Number      int `json:"number"`
	Secondary   int `json:"secondary"`
	Subordinate int `json:"subordinate"`
}

// QueryPCI lists the PCI buses and devices as QEMU sees them.
func (c *Client) QueryPCI(ctx context.Context) ([]PCIBus, error) {
	var buses []PCIBus
	if err := c.Execute(ctx, "query-pci", nil, &buses); err != nil {
		return nil, err
	}
	return buses, nil
}

// FindPCIDevice returns the device with qdevID, searching behind bridges.
func FindPCIDevice(buses []PCIBus, qdevID string) (PCIDevice, bool) {
	for _, b := range buses {
		if d, ok := findDevice(b.Devices, qdevID); ok {
			return d, true
		}
	}
	return PCIDevice{}, false
}

func findDevice(devs []PCIDevice, qdevID string) (PCIDevice, bool) {
	for _, d := range devs {
		if d.QdevID == qdevID {
			return d, true
		}
		if d.Bridge != nil {
			if found, ok := findDevice(d.Bridge.Devices, qdevID); ok {
				return found, true
			}
		}
	}
	return PCIDevice{}, false
}

// Status is query-status's answer.
type Status struct {
	Status  string `json:"status"` // QEMU's RunState: "running", "paused", "prelaunch", ...
	Running bool   `json:"running"`
}

// QueryStatus reports whether the VM runs.
func (c *Client) QueryStatus(ctx context.Context) (Status, error) {
	var s Status
	err := c.Execute(ctx, "query-status", nil, &s)
	return s, err
}
