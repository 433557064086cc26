package netmodels

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"

	"github.com/kite-vm/kite/internal/sysfs"
)

// PhysicalEndpoint records a PCI netdev of the pod netns (an SR-IOV VF that
// the SR-IOV CNI moved there) before it leaves the host for passthrough:
// unbinding its driver destroys the netdev with its addresses and routes, so
// Restore rebuilds them from this record once the driver is back. It is
// plain data: the runtime may keep it on disk and restore after a restart.
type PhysicalEndpoint struct {
	NetnsPath string
	Name      string
	MAC       net.HardwareAddr
	MTU       int
	Up        bool
	Addrs     []netip.Prefix
	Routes    []Route    // main-table routes through the netdev, but the kernel's own
	Neighbors []Neighbor // permanent neighbors on the netdev
	BDF       string     // PCI address, from ethtool's bus-info
	Driver    string     // host driver bound at record time ("" if none)
}

// RecordPhysical records the link ifname of a scanned netns. sysfsRoot is
// "/sys" on a real host; the driver is read from its bus/pci/devices tree.
func RecordPhysical(ns *Netns, ifname, sysfsRoot string) (*PhysicalEndpoint, error) {
	i := slices.IndexFunc(ns.Links, func(l Link) bool { return l.Name == ifname })
	if i < 0 {
		return nil, fmt.Errorf("recording %q in netns %q: %w", ifname, ns.Path, ErrNoInterface)
	}
	l := ns.Links[i]
	if !pciAddr.MatchString(l.BusInfo) {
		return nil, fmt.Errorf("recording %q in netns %q: bus-info %q: %w", ifname, ns.Path, l.BusInfo, ErrNoPCI)
	}
	drv, err := sysfs.LinkBase(filepath.Join(sysfsRoot, "bus", "pci", "devices", l.BusInfo, "driver"))
	if err != nil {
		return nil, fmt.Errorf("recording %q in netns %q: %w", ifname, ns.Path, err)
	}
	p := &PhysicalEndpoint{
		NetnsPath: ns.Path, Name: l.Name, MAC: l.MAC, MTU: l.MTU, Up: l.Up,
		Addrs: l.Addrs, BDF: l.BusInfo, Driver: drv,
	}
	for _, r := range ns.Routes {
		if r.Dev == ifname && !KernelRoute(r, l.Addrs) {
			p.Routes = append(p.Routes, r)
		}
	}
	for _, n := range ns.Neighbors {
		if n.Dev == ifname {
			p.Neighbors = append(p.Neighbors, n)
		}
	}
	return p, nil
}

// Netdev names a network interface in a network namespace.
type Netdev struct {
	NetnsPath string // e.g. /proc/1/ns/net: new netdevs appear in the init netns
	Name      string
}

// Rebinder gives a passed-through function back to its host driver and
// reports the netdev the driver made for it. Binding is the vfio package's
// job (vfio.Restore.Apply); NetdevOfBDF finds the netdev afterwards.
type Rebinder interface {
	Rebind(ctx context.Context, bdf, driver string) (Netdev, error)
}

// ipv6LinkLocal is the prefix route every IPv6 link gets.
var ipv6LinkLocal = netip.MustParsePrefix("fe80::/64")

// KernelRoute reports a route the kernel makes by itself when the addresses
// come back (the prefix route of an address, IPv6's fe80::/64). Adding it
// again would duplicate it for IPv6, whose kernel routes have a metric of
// their own.
func KernelRoute(r Route, addrs []netip.Prefix) bool {
	if r.Gw.IsValid() {
		return false
	}
	if r.Dst == ipv6LinkLocal {
		return true
	}
	for _, a := range addrs {
		if a.Masked() == r.Dst {
			return true
		}
	}
	return false
}
