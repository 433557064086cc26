// Package server is the guest side of Kite: kite-agent, which runs as PID 1
// of the VM and serves the agent API (agent/protocol) to the host over ttrpc.
//
// Run brings the guest up (mounts, console, kernel modules, loopback,
// cgroups, the child reaper, the uevent listener) and serves the host on
// the transport the kernel command line names. Service implements every
// RPC on top of the subpackages, each owning one concern: container
// processes (container, reaper), devices by guest PCI path (devices,
// pcipath, uevent), storages (storage), the network (netconf), cgroups
// (cgroup) and their device filters (devcgroup), output buffering
// (stdio), guest settings (guestconf) and facts (guestinfo). Errors are
// classified by the subpackages' sentinel errors and turned into ttrpc
// status codes only at the RPC edge (status.go).
package server
