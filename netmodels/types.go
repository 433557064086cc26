package netmodels

import (
	"errors"
	"net"
	"net/netip"
)

// Errors callers can test with errors.Is.
var (
	// ErrNoNetns: the netns path does not exist or is not a network namespace.
	ErrNoNetns = errors.New("network namespace not found")
	// ErrNoInterface: the named interface is not in the netns.
	ErrNoInterface = errors.New("interface not found")
	// ErrQueues: a queue count outside 1..MaxQueues.
	ErrQueues = errors.New("invalid queue count")
	// ErrNotTap: the interface an EndpointTap names is not a tap device.
	ErrNotTap = errors.New("not a tap device")
	// ErrNotSocket: a vhost-user socket path is missing or not a socket.
	ErrNotSocket = errors.New("not a vhost-user socket")
	// ErrMACClash: two carried interfaces share a MAC, which the guest
	// could not tell apart.
	ErrMACClash = errors.New("MAC address used twice")
	// ErrNoPCI: a physical endpoint's link has no PCI bus-info.
	ErrNoPCI = errors.New("not a PCI network device")
)

// MaxQueues is Linux's MAX_TAP_QUEUES: the most fds one tun/tap or macvtap
// device accepts.
const MaxQueues = 256

// Netns is what Scan read from one network namespace.
type Netns struct {
	Path      string
	Links     []Link
	Routes    []Route
	Neighbors []Neighbor
}

// Link kinds reported in Link.Kind beyond netlink's own type names.
const (
	KindDevice   = "device"   // a plain netdev (physical NIC, VF, ...)
	KindLoopback = "loopback" // lo
	KindTap      = "tap"      // a tun/tap device in tap mode
	KindTun      = "tun"      // a tun/tap device in tun mode
)

// Link is one interface of the netns.
type Link struct {
	Index int
	Name  string
	// Kind is netlink's type ("veth", "macvlan", "ipvlan", "bridge",
	// "macvtap"...), or one of KindDevice, KindLoopback, KindTap, KindTun.
	Kind  string
	MAC   net.HardwareAddr
	MTU   int
	Up    bool
	Addrs []netip.Prefix // global and link scope, in kernel order
	// PeerIndex is the ifindex of a veth's peer (in its own netns), else 0.
	PeerIndex int
	// BusInfo is ethtool's bus-info ("0000:3b:02.1" for a PCI NIC or VF),
	// empty for virtual links.
	BusInfo string
}

// Route is one route of the main table.
type Route struct {
	Dst   netip.Prefix // the default route is 0.0.0.0/0 or ::/0
	Gw    netip.Addr   // invalid when directly connected
	Dev   string
	Scope uint8 // netlink.Scope values: 0 universe, 253 link, 254 host
	Src   netip.Addr
}

// Neighbor is one permanent (static) neighbor entry.
type Neighbor struct {
	IP  netip.Addr
	MAC net.HardwareAddr
	Dev string
}

// EndpointKind is the endpoint model that carries an interface into the VM.
type EndpointKind string

// Endpoint kinds.
const (
	EndpointNone     EndpointKind = ""         // not carried (loopback, model none, unknown kinds)
	EndpointTCFilter EndpointKind = "tcfilter" // tap + tc mirred redirects
	EndpointMacvtap  EndpointKind = "macvtap"  // macvtap on the link
	EndpointTap      EndpointKind = "tap"      // an existing tap, used as is
	EndpointPhysical EndpointKind = "physical" // a PCI netdev (SR-IOV VF) passed through
	// EndpointVhostUser: a placeholder link whose address names a
	// vhost-user socket (see Netns.Classify); the link stays as is.
	EndpointVhostUser EndpointKind = "vhost-user"
)
