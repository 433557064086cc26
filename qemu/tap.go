package qemu

import (
	"os"
	"strings"
)

const tapKind = "tap-net"

// TapNet is a virtio-net NIC on a tap (or macvtap) device. The tap comes
// either as open queue fds (the runtime opened them, e.g. in the pod's netns)
// or by interface name, which QEMU opens itself.
type TapNet struct {
	ID  string
	Bus string // root port ID, or "" for the root bus
	MAC string // "" lets QEMU pick
	// FDs holds one open tap fd per queue (TUNSETIFF with
	// IFF_TAP|IFF_NO_PI|IFF_VNET_HDR|IFF_MULTI_QUEUE). Exclusive with IfName.
	FDs []*os.File
	// IfName names the tap for QEMU to open, with Queues queues (0 means 1).
	// Exclusive with FDs.
	IfName string
	Queues int
	// Vhost moves the data path into the host kernel. Set it only when the
	// host has /dev/vhost-net: QEMU 7.2 aborts if vhost=on cannot be honoured.
	Vhost bool
	// VhostFDs optionally passes open /dev/vhost-net fds, one per queue.
	VhostFDs []*os.File
}

func (t TapNet) queues() int {
	if len(t.FDs) > 0 {
		return len(t.FDs)
	}
	return max(t.Queues, 1)
}

// Validate checks the spec alone.
func (t TapNet) Validate() error {
	if err := firstErr(checkID(tapKind, t.ID), checkMAC(tapKind, t.ID, t.MAC), checkQueues(tapKind, t.ID, t.Queues)); err != nil {
		return err
	}
	switch {
	case len(t.FDs) == 0 && t.IfName == "":
		return invalid(tapKind, t.ID, "FDs", "set FDs or IfName")
	case len(t.FDs) > 0 && t.IfName != "":
		return invalid(tapKind, t.ID, "IfName", "is exclusive with FDs")
	case len(t.FDs) > maxQueues:
		return invalid(tapKind, t.ID, "FDs", "%d queues exceed %d", len(t.FDs), maxQueues)
	case len(t.FDs) > 0 && t.Queues != 0 && t.Queues != len(t.FDs):
		return invalid(tapKind, t.ID, "Queues", "is %d but %d FDs are given", t.Queues, len(t.FDs))
	case len(t.IfName) > 15 || strings.ContainsAny(t.IfName, "/ "):
		return invalid(tapKind, t.ID, "IfName", "%q is not a valid interface name", t.IfName)
	case len(t.VhostFDs) > 0 && !t.Vhost:
		return invalid(tapKind, t.ID, "VhostFDs", "need Vhost")
	case len(t.VhostFDs) > 0 && len(t.VhostFDs) != len(t.FDs):
		return invalid(tapKind, t.ID, "VhostFDs", "%d given for %d queue FDs (one per queue, with FDs only)", len(t.VhostFDs), len(t.FDs))
	}
	for _, f := range append(append([]*os.File{}, t.FDs...), t.VhostFDs...) {
		if f == nil {
			return invalid(tapKind, t.ID, "FDs", "holds a nil file")
		}
	}
	return nil
}

// Parts returns the tap netdev and the virtio-net-pci device.
func (t TapNet) Parts(fds FDs) Parts {
	var props []Prop
	if len(t.FDs) > 0 {
		props = append(props, Str("fds", refs(fds, t.FDs)))
	} else {
		props = append(props, Str("ifname", t.IfName), Str("script", "no"), Str("downscript", "no"))
		if t.queues() > 1 {
			props = append(props, Int("queues", int64(t.queues())))
		}
	}
	props = append(props, Bool("vhost", t.Vhost))
	if len(t.VhostFDs) > 0 {
		props = append(props, Str("vhostfds", refs(fds, t.VhostFDs)))
	}
	return Parts{
		Netdevs: []Netdev{{Type: "tap", ID: t.ID, Props: props}},
		Devices: []DeviceProps{virtioNet(t.ID, t.Bus, t.MAC, t.queues(), false)},
	}
}

// refs joins the references of files, colon-separated as QEMU's fds= wants.
func refs(fds FDs, files []*os.File) string {
	r := make([]string, len(files))
	for i, f := range files {
		r[i] = fds.Ref(f)
	}
	return strings.Join(r, ":")
}

// virtioNet is the virtio-net-pci front end shared by tap and vhost-user:
// with several queue pairs it turns on multiqueue and sizes MSI-X at one
// vector per queue (rx and tx) plus config and control. noMSIX sets
// vectors=0 instead. romfile= leaves out the iPXE option ROM: Kite boots a
// kernel directly, never from the network, so SeaBIOS need not load it.
func virtioNet(id, bus, mac string, queues int, noMSIX bool) DeviceProps {
	props := []Prop{Str("netdev", id)}
	props = strIf(props, "mac", mac)
	props = append(props, Str("romfile", ""))
	if queues > 1 {
		props = append(props, Bool("mq", true))
	}
	switch {
	case noMSIX:
		props = append(props, Int("vectors", 0))
	case queues > 1:
		props = append(props, Int("vectors", int64(2*queues+2)))
	}
	return DeviceProps{Driver: "virtio-net-pci", ID: id, Bus: bus, Props: props}
}
