package qemu

import "os"

const vsockKind = "vhost-vsock"

// Vsock is a vhost-vsock-pci device: the guest's AF_VSOCK transport, served
// by the host kernel through /dev/vhost-vsock.
type Vsock struct {
	ID       string
	Bus      string
	GuestCID uint32   // 3 .. 2^32-2: 0-2 are reserved, -1 is VMADDR_CID_ANY
	VhostFD  *os.File // optional open /dev/vhost-vsock; nil lets QEMU open it
}

// Validate checks the spec alone.
func (v Vsock) Validate() error {
	if err := checkID(vsockKind, v.ID); err != nil {
		return err
	}
	if v.GuestCID < 3 || v.GuestCID == 1<<32-1 {
		return invalid(vsockKind, v.ID, "GuestCID", "%d is reserved", v.GuestCID)
	}
	return nil
}

// Parts returns the device.
func (v Vsock) Parts(fds FDs) Parts {
	props := []Prop{Int("guest-cid", int64(v.GuestCID))}
	if v.VhostFD != nil {
		props = append(props, Str("vhostfd", fds.Ref(v.VhostFD)))
	}
	return Parts{Devices: []DeviceProps{{Driver: "vhost-vsock-pci", ID: v.ID, Bus: v.Bus, Props: props}}}
}
