// Package sandbox is Kite's engine: it owns a pod sandbox, one VM, from
// create to delete, for every front end (the OCI CLI's per-sandbox process,
// the containerd shim) alike.
//
// Create collects what the host has (the pod netns, the PCI functions the
// first container asks for and this sandbox's claims on them, DAX image
// headers), plans the VM without touching anything (the guest PCI topology,
// every device as an attachment of the subsystem that owns it, the VM
// plan), writes a crash record, then boots. A Sandbox then takes containers
// (CreateContainer: root file system and bind mounts through the shared
// directory, disks hot-plugged, PCIDEVICE_* functions attached and the
// variables rewritten to guest addresses), and a Container takes execs.
// Containers and processes hold their state machine (created, running,
// paused, stopped: every move checked), relay their stdio, and report their
// exit through the front end's Observer, as they do the VM's death and a
// degraded share.
//
// Errors carry one of this package's sentinels, classified once
// (Classify), so that a front end turns them into runc exit codes or ttrpc
// status at its own edge only. The crash record lets Cleanup undo a
// sandbox whose owning process died: leftover processes, mounts, lock
// files, vfio-pci bindings and device claims.
package sandbox
