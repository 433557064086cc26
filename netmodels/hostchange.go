package netmodels

import "github.com/kite-vm/kite/vfio"

// HostChange is what attaching one endpoint changes in its pod netns,
// written down (by a Journal) before the first change is made, so that
// UndoHostChange can put the netns back after the process that attached the
// endpoint died with the undo in its memory. Every field is known before
// the change: names derive from ifindexes, addresses are read first.
type HostChange struct {
	// Endpoint is the endpoint's id, unique in its sandbox.
	Endpoint string       `json:"endpoint"`
	Kind     EndpointKind `json:"kind"`
	Netns    string       `json:"netns"`
	// Iface is the pod interface the endpoint carries.
	Iface string `json:"iface"`
	// Link is the link the endpoint creates: the tcfilter's tap or the
	// macvtap ("" for an existing tap).
	Link string `json:"link,omitempty"`
	// IngressExisted: the interface had an ingress qdisc before a tcfilter
	// attached (a CNI's); the undo keeps it.
	IngressExisted bool `json:"ingressExisted,omitempty"`
	// Held are the addresses and routes taken off the interface while the
	// guest owns them (macvtap, tap).
	Held *HeldAddrs `json:"held,omitempty"`
	// VF is the change of a physical endpoint's VF admin settings (its MAC,
	// a devices.vf rule's) made through the PF.
	VF *vfio.VFChange `json:"vf,omitempty"`
}

// HeldAddrs are an interface's addresses and routes as HoldAddresses took
// them off.
type HeldAddrs struct {
	Addrs  []HeldAddr  `json:"addrs,omitempty"`
	Routes []HeldRoute `json:"routes,omitempty"`
}

// HeldAddr is one address of a held interface. Lifetimes are not kept: an
// address comes back permanent.
type HeldAddr struct {
	Prefix    string `json:"prefix"`
	Peer      string `json:"peer,omitempty"`
	Broadcast string `json:"broadcast,omitempty"`
	Label     string `json:"label,omitempty"`
	Flags     int    `json:"flags,omitempty"`
	Scope     int    `json:"scope,omitempty"`
}

// HeldRoute is one route through a held interface: the fields a pod
// netns' routes use (no multipath, encapsulation or metrics).
type HeldRoute struct {
	Dst      string `json:"dst,omitempty"` // "" is the default route
	Gw       string `json:"gw,omitempty"`
	Src      string `json:"src,omitempty"`
	Family   int    `json:"family"`
	Scope    int    `json:"scope,omitempty"`
	Protocol int    `json:"protocol,omitempty"`
	Priority int    `json:"priority,omitempty"`
	Table    int    `json:"table,omitempty"`
	Type     int    `json:"type,omitempty"`
	Flags    int    `json:"flags,omitempty"`
}

// Journal keeps host changes on disk for a crash cleanup.
type Journal interface {
	// Note records c before any of it is made; it must be on disk when
	// Note returns.
	Note(c HostChange) error
	// Forget drops the endpoint's record once its changes were undone.
	Forget(endpoint string) error
}

// changesHost reports whether attaching an endpoint of kind k changes its
// pod netns. A vhost-user placeholder and a physical function's netdev are
// left as they are (a function's driver binding is devicemgr's record).
func changesHost(k EndpointKind) bool {
	switch k {
	case EndpointTCFilter, EndpointMacvtap, EndpointTap:
		return true
	}
	return false
}
