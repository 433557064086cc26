// Package runtime owns the lifecycle of Kite's sandboxes: it turns the
// configuration and a sandbox's inputs into a plan (PlanVM: the QEMU command
// line, one virtiofsd per virtio-fs share, the guest kernel command line and
// the agent transport), checked and pure, and applies it (BootVM: sockets,
// virtiofsd, QEMU, the agent and QMP connections), each step undone in reverse
// when a later one fails, so that a failed boot leaves no process, socket,
// mount or directory behind.
//
// It is the only package that knows all the others: configs for the knobs,
// qemu and qemu/qmp for the hypervisor, agent/client for the guest.
package runtime
