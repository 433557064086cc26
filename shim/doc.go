// Package shim owns containerd-shim-kite-v2, the containerd shim v2 of Kite
// (runtime type io.containerd.kite.v2): its bootstrap (the start and delete
// actions containerd runs, and the daemon start spawns), the task service
// containerd calls over ttrpc, the per-container and per-exec process state
// machines, the events it publishes back to containerd, and the relay of
// each process's stdio between containerd's FIFOs and the guest agent.
//
// One shim daemon serves one pod: one VM. The first task created boots the
// VM; a later task whose spec carries the CRI annotations
// io.kubernetes.cri.container-type=container and
// io.kubernetes.cri.sandbox-id=<pod> is started by containerd through the
// same start action, which finds the pod's daemon by its socket (a name
// derived from containerd's address, the namespace and the pod id) and
// prints that daemon's address instead of spawning another.
//
// The bootstrap is written over containerd/api (task v2) and ttrpc rather
// than containerd's own pkg/shim, whose recent versions speak a bootstrap
// protocol containerd 1.6 and 1.7 do not understand; the flags, the address
// file, the log FIFO and the publish binary are what every containerd since
// 1.2 uses.
//
// Task pids are guest pids: the container's processes live in the VM, out
// of the host's reach; signals go through Kill and the agent.
package shim
