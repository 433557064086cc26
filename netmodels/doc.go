// Package netmodels owns the pod network side of a sandbox: it scans the
// pod's network namespace into plain structs (links, addresses, routes,
// permanent neighbors), classifies each interface into the endpoint model
// that will carry it into the VM, and attaches and detaches those endpoints
// (tcfilter: a multiqueue tap joined to the pod's veth by tc mirred
// redirects; macvtap; ...). Attach steps register their undo on a cleanup
// stack so that a failure half way, or a Detach, leaves the netns exactly as
// it was. It never imports devicemgr or fsshare: runtime turns what it
// returns (fds, MACs, addresses) into QEMU devices and agent requests.
package netmodels
