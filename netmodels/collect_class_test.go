package netmodels

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
)

func TestClass(t *testing.T) {
	tests := []struct {
		name  string
		link  Link
		model configs.NetModel
		want  EndpointKind
	}{
		{"veth tcfilter", Link{Kind: "veth"}, configs.NetTCFilter, EndpointTCFilter},
		{"veth macvtap", Link{Kind: "veth"}, configs.NetMacvtap, EndpointMacvtap},
		{"veth none", Link{Kind: "veth"}, configs.NetNone, EndpointNone},
		{"macvlan", Link{Kind: "macvlan"}, configs.NetTCFilter, EndpointTCFilter},
		{"ipvlan macvtap", Link{Kind: "ipvlan"}, configs.NetMacvtap, EndpointMacvtap},
		{"tap", Link{Kind: KindTap}, configs.NetTCFilter, EndpointTap},
		{"tap under none", Link{Kind: KindTap}, configs.NetNone, EndpointTap},
		{"tun", Link{Kind: KindTun}, configs.NetTCFilter, EndpointNone},
		{"VF netdev", Link{Kind: KindDevice, BusInfo: "0000:3b:02.1"}, configs.NetTCFilter, EndpointPhysical},
		{"device without bus", Link{Kind: KindDevice}, configs.NetTCFilter, EndpointNone},
		{"non-PCI bus-info", Link{Kind: KindDevice, BusInfo: "tap"}, configs.NetTCFilter, EndpointNone},
		{"loopback", Link{Kind: KindLoopback}, configs.NetTCFilter, EndpointNone},
		{"bridge", Link{Kind: "bridge"}, configs.NetTCFilter, EndpointNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Class(tt.link, tt.model); got != tt.want {
				t.Errorf("Class(%+v, %q) = %q, want %q", tt.link, tt.model, got, tt.want)
			}
		})
	}
}

func TestEndpointsKeepsCarriedLinksInOrder(t *testing.T) {
	ns := &Netns{Links: []Link{
		{Index: 1, Name: "lo", Kind: KindLoopback},
		{Index: 2, Name: "eth0", Kind: "veth"},
		{Index: 3, Name: "br0", Kind: "bridge"},
		{Index: 4, Name: "net1", Kind: KindDevice, BusInfo: "0000:01:00.2"},
		{Index: 5, Name: "tap9", Kind: KindTap},
	}}
	got := ns.Endpoints(configs.NetTCFilter)
	want := []ClassifiedLink{
		{Link: ns.Links[1], Kind: EndpointTCFilter},
		{Link: ns.Links[3], Kind: EndpointPhysical},
		{Link: ns.Links[4], Kind: EndpointTap},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Endpoints (-want +got):\n%s", diff)
	}
}
