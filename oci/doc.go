// Package oci is the OCI CLI's front end on the host side: the
// per-sandbox process that `kite create` starts (RunDaemon), a thin adapter
// from the control protocol (package control) to the engine (package
// sandbox), and the cleanup of one that died (CleanupDead).
//
// The process has the engine create the sandbox and the container from the
// bundle (not started), with the container's stdio its own (runc's
// semantics: create's stdio becomes the container's), or a host
// pseudo-terminal whose master went to the console socket (SendConsole);
// then it serves its control socket until `kite delete`, keeping
// state.json in step with what the engine reports (the exit code, a
// degraded share).
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
package oci
