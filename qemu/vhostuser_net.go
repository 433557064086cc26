package qemu

const vhostUserNetKind = "vhost-user-net"

// VhostUserNet is a virtio-net NIC whose data path is a vhost-user backend
// (DPDK, OVS-DPDK) listening on SocketPath. It needs Memory.Shared.
type VhostUserNet struct {
	ID         string
	Bus        string
	MAC        string
	SocketPath string // the backend listens; QEMU connects
	Queues     int    // 0 means 1
	// NoMSIX sets vectors=0. Required under TCG: with MSI-X QEMU 7.2
	// segfaults in vhost_net_start. Leave it off under KVM.
	NoMSIX bool
}

// VhostUserNoMSIX reports whether vhost-user NICs must set NoMSIX under the
// accelerator a: TCG only (measured with QEMU 7.2). Under KVM MSI-X stays on,
// with one vector per queue as for taps.
func VhostUserNoMSIX(a AccelType) bool { return a == AccelTCG }

// Validate checks the spec alone.
func (v VhostUserNet) Validate() error {
	return firstErr(
		checkID(vhostUserNetKind, v.ID),
		checkMAC(vhostUserNetKind, v.ID, v.MAC),
		checkQueues(vhostUserNetKind, v.ID, v.Queues),
		checkPath(vhostUserNetKind, v.ID, "SocketPath", v.SocketPath),
	)
}

// Parts returns the socket chardev, the vhost-user netdev and the NIC.
func (v VhostUserNet) Parts(FDs) Parts {
	q := max(v.Queues, 1)
	var props []Prop
	props = append(props, Str("chardev", v.ID))
	if q > 1 {
		props = append(props, Int("queues", int64(q)))
	}
	return Parts{
		Chardevs: []Chardev{{ID: v.ID, Backend: ChardevSocket, Path: v.SocketPath}},
		Netdevs:  []Netdev{{Type: "vhost-user", ID: v.ID, Props: props}},
		Devices:  []DeviceProps{virtioNet(v.ID, v.Bus, v.MAC, q, v.NoMSIX)},
	}
}

func (v VhostUserNet) needs() machineNeeds {
	return machineNeeds{kind: vhostUserNetKind, id: v.ID, sharedMemory: true}
}
