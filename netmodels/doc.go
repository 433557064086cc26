// Package netmodels owns the pod network side of a sandbox: it scans the
// pod's network namespace into plain structs (links, addresses, routes,
// permanent neighbors), classifies each interface into the endpoint model
// that will carry it into the VM, and attaches and detaches those endpoints:
// tcfilter (a multiqueue tap joined to the pod's veth by tc mirred
// redirects), macvtap, an existing tap used as is, vhost-user (a placeholder
// link whose address names a backend's socket), and physical (a PCI netdev,
// usually an SR-IOV VF, recorded before passthrough and restored after).
// Attach steps register their undo on a cleanup stack so that a failure half
// way, or a Detach, leaves the netns exactly as it was. It never imports
// devicemgr, vfio or fsshare: runtime turns what it returns (fds, MACs,
// addresses, socket paths, BDFs) into QEMU devices and agent requests, and
// supplies the VF rebinding as a Rebinder.
package netmodels
