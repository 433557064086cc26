package hotplug_test

import (
	"errors"
	"testing"

	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/qemu/hotplug"
)

// handMade is a device whose parts a test writes out directly.
type handMade struct{ parts qemu.Parts }

func (handMade) Validate() error             { return nil }
func (h handMade) Parts(qemu.FDs) qemu.Parts { return h.parts }

// TestPlugRefusesBeforeSending: nothing may reach QEMU (the fake's script is
// empty) when the device is invalid or has a part QMP cannot add.
func TestPlugRefusesBeforeSending(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		dev    qemu.Device
		target error
		says   []string
	}{
		{"9p with its fsdev", "p9", qemu.NineP{ID: "p9", Path: "/srv", Tag: "t", SecurityModel: qemu.SecurityNone},
			hotplug.ErrUnsupported, []string{`hot-plugging "p9"`, `fsdev "p9"`, "fsdev_add", "NinePReserve"}},
		{"fsdev reserve", "r9", qemu.NinePReserve{ID: "r9", Path: "/srv", SecurityModel: qemu.SecurityNone},
			hotplug.ErrUnsupported, []string{"fsdev_add"}},
		{"invalid spec", "net0", qemu.TapNet{ID: "net0"}, qemu.ErrInvalid, []string{`hot-plugging "net0"`, "FDs"}},
		{"empty id", "", qemu.VFIO{ID: "vf0", Host: "0000:3b:02.1"}, qemu.ErrInvalid, []string{"empty id"}},
		{"chardev backend without a typed call", "c0", handMade{qemu.Parts{Chardevs: []qemu.Chardev{{ID: "c0", Backend: "pty"}}}},
			hotplug.ErrUnsupported, []string{`chardev "c0"`, `"pty"`}},
		{"mistyped property", "d0", handMade{qemu.Parts{
			Objects: []qemu.Object{{QOMType: "memory-backend-ram", ID: "m0", Props: []qemu.Prop{qemu.Str("size", "1")}}},
			Devices: []qemu.DeviceProps{{Driver: "e1000", ID: "d0", Props: []qemu.Prop{{Key: "x", Value: "maybe", Type: qemu.PropBool}}}},
		}}, qemu.ErrInvalid, []string{`device "d0"`, "x=\"maybe\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := connect(t)
			p, err := hotplug.Plug(testContext(t), q, tt.id, tt.dev)
			if p != nil {
				t.Errorf("Plug returned %+v", p)
			}
			wantErr(t, err, tt.target, tt.says...)
			if tt.target == hotplug.ErrUnsupported && errors.Is(err, qemu.ErrInvalid) {
				t.Errorf("error = %v: an unsupported part is no invalid spec", err)
			}
		})
	}
}
