package configs

import (
	"errors"
	"strings"
)

// NetModel is how a pod network interface is connected to the VM.
type NetModel string

// Network models.
const (
	// NetTCFilter: a tap device per interface, joined to the pod's veth by tc
	// mirred redirects in both directions.
	NetTCFilter NetModel = "tcfilter"
	// NetMacvtap: a macvtap (bridge mode) on the pod's veth, with its MAC.
	NetMacvtap NetModel = "macvtap"
	// NetNone: no network interface in the VM at all.
	NetNone NetModel = "none"
)

// Values lists the accepted network models.
func (NetModel) Values() []NetModel { return []NetModel{NetTCFilter, NetMacvtap, NetNone} }

// UnmarshalText accepts only Values().
func (m *NetModel) UnmarshalText(b []byte) error { return parseEnum(m, b, m.Values()) }

// Vhost selects in-kernel virtio-net acceleration (/dev/vhost-net).
type Vhost string

// Vhost modes. VhostAuto means on when /dev/vhost-net opens.
const (
	VhostAuto Vhost = "auto"
	VhostOn   Vhost = "on"
	VhostOff  Vhost = "off"
)

// Values lists the accepted vhost modes.
func (Vhost) Values() []Vhost { return []Vhost{VhostAuto, VhostOn, VhostOff} }

// UnmarshalText accepts only Values().
func (v *Vhost) UnmarshalText(b []byte) error { return parseEnum(v, b, v.Values()) }

// IPPlaceholder is replaced by an interface's IPv4 address in
// Network.VhostUserSocketPattern.
const IPPlaceholder = "{ip}"

// Limits of the network section.
const (
	maxQueues = 256   // Linux tun and macvtap: MAX_TAP_QUEUES
	minMTU    = 68    // IPv4's minimum
	maxMTU    = 65535 // the largest IP packet
)

// Network configures how pod network interfaces reach the VM.
type Network struct {
	Model                  NetModel `toml:"model" json:"model"`
	Queues                 int      `toml:"queues" json:"queues"`
	Vhost                  Vhost    `toml:"vhost" json:"vhost"`
	VhostUserSocketPattern string   `toml:"vhost_user_socket_pattern" json:"vhost_user_socket_pattern"`
	MTU                    int      `toml:"mtu" json:"mtu"`
}

// Validate checks every knob of the section.
func (n Network) Validate() error {
	return errors.Join(
		oneOf("network.model", n.Model, n.Model.Values()),
		inRange("network.queues", n.Queues, 0, maxQueues),
		oneOf("network.vhost", n.Vhost, n.Vhost.Values()),
		n.validatePattern(),
		zeroOrRange("network.mtu", n.MTU, minMTU, maxMTU),
	)
}

func (n Network) validatePattern() error {
	const key = "network.vhost_user_socket_pattern"
	if err := absPath(key, n.VhostUserSocketPattern); err != nil {
		return err
	}
	if strings.Count(n.VhostUserSocketPattern, IPPlaceholder) != 1 {
		return keyError(key, ErrInvalid, " %q: accepted values: an absolute path containing %s exactly once", n.VhostUserSocketPattern, IPPlaceholder)
	}
	return nil
}

// QueuesFor returns the number of queue pairs for a VM with vcpus vCPUs:
// Queues, or one per vCPU when Queues is 0.
func (n Network) QueuesFor(vcpus int) int {
	if n.Queues == 0 {
		return vcpus
	}
	return n.Queues
}

// VhostUserSocket returns the socket path at which a vhost-user backend (VPP,
// OVS-DPDK) serves the interface with IPv4 address ip.
func (n Network) VhostUserSocket(ip string) string {
	return strings.Replace(n.VhostUserSocketPattern, IPPlaceholder, ip, 1)
}
