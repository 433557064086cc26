package qemu

import "encoding/json"

// DeviceProps is one -device (QMP device_add): the driver, its id, where it
// sits on the PCI topology, and its driver-specific properties.
type DeviceProps struct {
	Driver string
	ID     string
	Bus    string // "" lets QEMU pick a slot on the root bus
	Addr   string // "" lets QEMU pick; "0x4" or "0x4.1"
	Props  []Prop
}

func (d DeviceProps) all() []Prop {
	props := []Prop{Str("id", d.ID)}
	props = strIf(props, "bus", d.Bus)
	props = strIf(props, "addr", d.Addr)
	return append(props, d.Props...)
}

// Arg renders the -device value.
func (d DeviceProps) Arg() string { return opts(d.Driver, d.all()...) }

// MarshalJSON encodes the device_add arguments.
func (d DeviceProps) MarshalJSON() ([]byte, error) {
	o := newJSONObject()
	o.str("driver", d.Driver)
	o.props(d.all())
	return json.Marshal(o)
}
