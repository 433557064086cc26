package netconf

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// AddNeighbors sets each static neighbour entry, replacing an existing one
// for the same address and link.
func (n *Net) AddNeighbors(neighbors []Neighbor) error {
	for _, nb := range neighbors {
		l, err := n.byName(nb.Device)
		if err != nil {
			return err
		}
		fam := netlink.FAMILY_V4
		if nb.IP.Is6() {
			fam = netlink.FAMILY_V6
		}
		err = n.h.NeighSet(&netlink.Neigh{
			LinkIndex:    l.Attrs().Index,
			Family:       fam,
			State:        nb.State,
			IP:           nb.IP.AsSlice(),
			HardwareAddr: nb.HWAddr,
		})
		if err != nil {
			return fmt.Errorf("adding neighbour %s lladdr %s dev %s: %w", nb.IP, nb.HWAddr, nb.Device, err)
		}
	}
	return nil
}
