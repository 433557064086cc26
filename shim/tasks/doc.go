// Package tasks is the task service of containerd-shim-kite-v2: an adapter
// from containerd's task API (v2, over ttrpc) to the engine (package
// sandbox). One service serves one pod: the first task created has the
// engine create the pod's sandbox (its VM), later tasks of the pod join it
// as containers, and the last task deleted stops it. Task pids are guest
// pids: the container's processes live in the VM, out of the host's reach;
// signals go through Kill and the engine. Exits the engine reports become
// TaskExit events; every RPC turns its error into a ttrpc status at its
// return (the engine's classification decides the code).
package tasks
