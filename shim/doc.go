// Package shim is containerd-shim-kite-v2, the containerd shim v2 of Kite
// (runtime type io.containerd.kite.v2): its bootstrap, the start and delete
// actions containerd runs and the daemon start spawns, which serves the
// task service (package tasks, the adapter to the engine) over ttrpc.
//
// One shim daemon serves one pod: one VM. A later task whose spec carries
// the CRI annotations io.kubernetes.cri.container-type=container and
// io.kubernetes.cri.sandbox-id=<pod> is started by containerd through the
// same start action, which finds the pod's daemon by its socket (a name
// derived from containerd's address, the namespace and the pod id) and
// prints that daemon's address instead of spawning another. The delete
// action, run when a daemon died, has the engine clean its pod up from the
// crash record (sandbox.Cleanup).
//
// The bootstrap is written over containerd/api (task v2) and ttrpc rather
// than containerd's own pkg/shim, whose recent versions speak a bootstrap
// protocol containerd 1.6 and 1.7 do not understand; the flags, the address
// file, the log FIFO and the publish binary are what every containerd since
// 1.2 uses.
package shim
