// Package vm owns one VM: its plan, its boot, its stop, the devices plugged
// into it while it runs, and the connections to QEMU's monitor and to the
// guest agent.
//
// PlanMachine is pure: the configuration, what the host offers (Host), the
// guest PCI topology's root ports and the cold-plugged attachments become a
// Plan: the QEMU command line without the attachments' devices, the guest
// kernel command line, the agent transport, the vCPU pinning. Boot applies
// it: it creates the VM's directory, listens for the agent, does each
// attachment's host side, starts QEMU with their devices, waits for the
// agent, connects QMP, pins the vCPUs and carries out the attachments' guest
// requests. Every step registers its undo, and a failure undoes what was
// done, so a failed boot leaves no process, socket, mount or binding.
//
// A running Machine takes attachments (Attach: host side, QMP hot plug
// through qemu/hotplug, guest request) and gives them back (Detach), and
// Stop undoes everything. The package knows QEMU, QMP and the agent; it
// knows no subsystem: what a device is and how its host side works is the
// attachment's business (package attach).
package vm
