// Package attach is the contract between the VM and the subsystems that own
// device kinds (devicemgr, fsshare, netmodels): an Attachment is one device
// as its subsystem planned it; attaching it does the host side (each step's
// undo on a cleanup stack) and yields the QEMU device to plug and the typed
// request the agent must carry out once the device is in the guest.
//
// The same attachment is cold-plugged, on the QEMU command line, by vm.Boot,
// or hot-plugged into a running VM by vm.Machine.Attach; the subsystem does
// not know which. Guest requests are data, sent by the VM: subsystems never
// talk to the agent.
package attach
