package netconf

import (
	"errors"
	"net"
	"net/netip"

	"github.com/kite-vm/kite/agent/server/pcipath"
	"github.com/vishvananda/netlink"
)

// Errors, classified for the agent's RPC status.
var (
	ErrNotFound = errors.New("link not found")
	ErrInvalid  = errors.New("invalid network setting")
)

// Interface is a link's state, wanted (UpdateInterface) or observed.
type Interface struct {
	Name   string
	HWAddr net.HardwareAddr // nil: leave unchanged
	MTU    int              // zero: leave unchanged
	Addrs  []netip.Prefix   // the link's addresses with their prefix length
	// PCIPath is the NIC's guest PCI path when observed ("" if not PCI).
	PCIPath string
	Up      bool
}

// Selector says how to find a link: by PCI path if set, else by name if
// set, else by MAC.
type Selector struct {
	PCIPath pcipath.Path
	Name    string
	HWAddr  net.HardwareAddr
}

// Route is one route of the main table.
type Route struct {
	// Dest is the destination; 0.0.0.0/0 or ::/0 for a default route.
	Dest    netip.Prefix
	Gateway netip.Addr // invalid for a directly connected route
	Device  string
	Source  netip.Addr // invalid for none
	Scope   netlink.Scope
	Metric  int
}

// DefaultScope is the scope `ip route add` picks: link for a directly
// connected route, universe through a gateway.
func DefaultScope(gateway netip.Addr) netlink.Scope {
	if gateway.IsValid() {
		return netlink.SCOPE_UNIVERSE
	}
	return netlink.SCOPE_LINK
}

// Neighbor is a static neighbour (ARP or NDP) entry.
type Neighbor struct {
	IP     netip.Addr
	Device string
	HWAddr net.HardwareAddr
	State  int // netlink.NUD_*
}
