// Package sandbox owns Kite's per-sandbox host process and the protocol the
// CLI speaks to it.
//
// `kite create` validates the bundle, reserves the id and starts the
// sandbox process (Spawn): Kite's own binary, in a session of its own, with
// create's stdin, stdout and stderr, which thereby become the container's
// (runc's semantics), and a report pipe on which the process says
// "created" or why not. The process (RunDaemon) boots the VM with the
// bundle's root file system shared into it, creates the container in the
// guest without starting it, records the state, and serves its control
// socket until `kite delete`. It relays the container's stdio between its
// own descriptors (or a host pseudo-terminal whose master went to the
// console socket, as runc sends it: SendConsole) and the guest agent, and
// records the exit code when the container's process exits; it keeps
// serving after that, so that `kite state` and `kite delete` work.
//
// What state.pid means for a VM runtime: the OCI state's pid, which runc
// gives as the container's init process, is here the sandbox process's:
// the host process that owns the VM (QEMU and virtiofsd are its children)
// and the container's stdio, and whose life is the container's on the
// host. The container's own processes live in the guest, out of the host's
// reach; signal them with `kite kill`, which goes through the control
// socket and the agent. Signalling state.pid directly does not signal the
// container: SIGTERM makes the sandbox process stop the VM, and the
// container then reads as stopped.
//
// The control protocol is typed JSON over a SOCK_SEQPACKET unix socket,
// one request and one response per connection (Request, Response; Client,
// Serve), with exec's stdio passed as descriptors (SCM_RIGHTS). Errors
// carry a Code that matches this package's sentinels, so that the CLI
// answers like runc whichever process failed.
//
// When the sandbox process is gone (killed, crashed), CleanupDead removes
// what it left, from the state and a small VM record it writes before
// booting: the VM's processes, mounts, sockets and files.
package oci
