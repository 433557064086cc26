// Package netmodels owns the pod network side of a sandbox: it scans the
// pod's network namespace into plain structs (links, addresses, routes,
// permanent neighbors), classifies each interface into the endpoint model
// that will carry it into the VM, and attaches and detaches those endpoints:
// tcfilter (a multiqueue tap joined to the pod's veth by tc mirred
// redirects), macvtap, an existing tap used as is, vhost-user (a placeholder
// link whose address names a backend's socket), and physical (a PCI netdev,
// usually an SR-IOV VF, recorded before passthrough and restored after).
// Attach steps register their undo on a cleanup stack so that a failure half
// way, or a Detach, leaves the netns exactly as it was.
//
// Plan turns a scan into Endpoints, each an attachment (vm/attach): its
// Attach does the netns side and returns the NIC's QEMU device (with the tap
// queues it opened) and the guest request that configures the interface,
// its routes and neighbors. Physical wraps the attachment that passes a VF
// through (a devicemgr.VFIOFunction, which the engine supplies: netmodels
// never imports devicemgr, vfio or fsshare) and rebuilds the VF's netdev in
// the pod netns when it is undone.
package netmodels
