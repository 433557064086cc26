package netmodels

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// restoreStep is one action of putting a netdev back: each knows how to
// apply itself and how to show itself, so the plan can be tested without
// touching a netns.
type restoreStep interface {
	apply(r *restorer) error
	String() string
}

type (
	stepDown     struct{}
	stepRename   struct{ To string }
	stepMove     struct{ NetnsPath string }
	stepMAC      struct{ MAC net.HardwareAddr }
	stepMTU      struct{ MTU int }
	stepAddr     struct{ Prefix netip.Prefix }
	stepUp       struct{}
	stepRoute    struct{ Route Route }
	stepNeighbor struct{ Neighbor Neighbor }
)

func (stepDown) String() string     { return "set down" }
func (s stepRename) String() string { return "rename to " + s.To }
func (s stepMove) String() string   { return "move to netns " + s.NetnsPath }
func (s stepMAC) String() string    { return "set MAC " + s.MAC.String() }
func (s stepMTU) String() string    { return fmt.Sprintf("set MTU %d", s.MTU) }
func (s stepAddr) String() string   { return "add address " + s.Prefix.String() }
func (stepUp) String() string       { return "set up" }
func (s stepRoute) String() string  { return "add route " + routeString(s.Route) }
func (s stepNeighbor) String() string {
	return "add neighbor " + s.Neighbor.IP.String() + " lladdr " + s.Neighbor.MAC.String()
}

func routeString(r Route) string {
	s := r.Dst.String()
	if r.Gw.IsValid() {
		s += " via " + r.Gw.String()
	}
	if r.Src.IsValid() {
		s += " src " + r.Src.String()
	}
	return s + fmt.Sprintf(" scope %d", r.Scope)
}

// tempName is the name a netdev carries while it crosses from the host
// netns to the pod's: neither its host name nor the pod name may be free on
// the other side.
func tempName(index int) string { return fmt.Sprintf("kitevf%d", index) }

// restorePlan lists the steps that turn cur, the netdev as the driver
// brought it back in the host netns, into the recorded one in the pod
// netns. Renaming needs the link down, so it goes down first and up last;
// routes without a gateway come before those that need them.
func (p *PhysicalEndpoint) restorePlan(cur Link) []restoreStep {
	var steps []restoreStep
	if cur.Up {
		steps = append(steps, stepDown{})
	}
	steps = append(steps, stepRename{To: tempName(cur.Index)}, stepMove{NetnsPath: p.NetnsPath}, stepRename{To: p.Name})
	if len(p.MAC) > 0 && !bytes.Equal(p.MAC, cur.MAC) {
		steps = append(steps, stepMAC{MAC: p.MAC})
	}
	if p.MTU > 0 && p.MTU != cur.MTU {
		steps = append(steps, stepMTU{MTU: p.MTU})
	}
	for _, a := range p.Addrs {
		steps = append(steps, stepAddr{Prefix: a})
	}
	if p.Up {
		steps = append(steps, stepUp{})
	}
	routes := slices.Clone(p.Routes)
	slices.SortStableFunc(routes, func(a, b Route) int { return boolInt(a.Gw.IsValid()) - boolInt(b.Gw.IsValid()) })
	for _, r := range routes {
		steps = append(steps, stepRoute{Route: r})
	}
	for _, n := range p.Neighbors {
		steps = append(steps, stepNeighbor{Neighbor: n})
	}
	return steps
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
