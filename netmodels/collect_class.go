package netmodels

import (
	"regexp"

	"github.com/kite-vm/kite/configs"
)

// pciAddr matches a PCI bus-info as ethtool reports it (domain:bus:dev.fn).
var pciAddr = regexp.MustCompile(`^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$`)

// Class picks the endpoint model for a link. model is the configured model
// for veth-like links (network.model). A link with a PCI bus-info is
// physical whatever its kind, since the SR-IOV CNI moves VF netdevs into the
// pod netns as plain devices. Anything else (loopback, bridges, tun, links
// the runtime does not know) is EndpointNone: it stays in the netns.
func Class(l Link, model configs.NetModel) EndpointKind {
	if pciAddr.MatchString(l.BusInfo) {
		return EndpointPhysical
	}
	switch l.Kind {
	case "veth", "macvlan", "ipvlan":
		return vethModel(model)
	case KindTap:
		return EndpointTap
	}
	return EndpointNone
}

func vethModel(model configs.NetModel) EndpointKind {
	switch model {
	case configs.NetTCFilter:
		return EndpointTCFilter
	case configs.NetMacvtap:
		return EndpointMacvtap
	}
	return EndpointNone
}

// Endpoints returns the links of ns that Class carries into the VM, in
// ifindex order, with their kinds.
func (ns *Netns) Endpoints(model configs.NetModel) []ClassifiedLink {
	var out []ClassifiedLink
	for _, l := range ns.Links {
		if k := Class(l, model); k != EndpointNone {
			out = append(out, ClassifiedLink{Link: l, Kind: k})
		}
	}
	return out
}

// ClassifiedLink is a link with the endpoint model chosen for it.
type ClassifiedLink struct {
	Link Link
	Kind EndpointKind
	// VhostUserSocket is the socket found for an EndpointVhostUser link.
	VhostUserSocket string
}
