package netmodels

import (
	"fmt"

	"github.com/kite-vm/kite/configs"
)

// Classify picks the endpoint of every carried link in Kata's order: a PCI
// netdev is physical; a link with an address naming a vhost-user socket
// (VhostUserSocket) is vhost-user; anything else as Class says. It fails with
// ErrMACClash when two carried links share a MAC: the agent finds guest
// NICs by MAC, and a guest with two NICs of one MAC cannot be configured.
func (ns *Netns) Classify(cfg configs.Network) ([]ClassifiedLink, error) {
	var out []ClassifiedLink
	for _, l := range ns.Links {
		c := ClassifiedLink{Link: l, Kind: Class(l, cfg.Model)}
		if c.Kind != EndpointPhysical {
			if sock, ok := VhostUserSocket(l, cfg); ok {
				c.Kind, c.VhostUserSocket = EndpointVhostUser, sock
			}
		}
		if c.Kind != EndpointNone {
			out = append(out, c)
		}
	}
	if err := CheckMACs(out); err != nil {
		return nil, fmt.Errorf("classifying netns %q: %w", ns.Path, err)
	}
	return out, nil
}

// CheckMACs fails with ErrMACClash, naming both links, when two links share
// a MAC. Links without a MAC are skipped.
func CheckMACs(links []ClassifiedLink) error {
	seen := map[string]string{}
	for _, c := range links {
		if len(c.Link.MAC) == 0 {
			continue
		}
		mac := c.Link.MAC.String()
		if other, ok := seen[mac]; ok {
			return fmt.Errorf("%w: %q and %q both have %s", ErrMACClash, other, c.Link.Name, mac)
		}
		seen[mac] = c.Link.Name
	}
	return nil
}
