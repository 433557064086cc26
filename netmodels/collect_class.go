package netmodels

import (
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/pci"
)

// pciAddr matches a bus-info, as ethtool reports it, that is a PCI address:
// the kernel's pci_name(), dddd:bb:dd.f in lower case (pci.ParseAddress).
// It keeps the MatchString method of the regexp it replaces for
// RecordPhysical; a plain function will do once that call changes.
var pciAddr busInfoMatcher

type busInfoMatcher struct{}

// MatchString reports whether bus-info s is a PCI address.
func (busInfoMatcher) MatchString(s string) bool {
	_, err := pci.ParseAddress(s)
	return err == nil
}

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
