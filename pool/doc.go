// Package pool keeps warm VMs ready for the front ends: each is a process
// of its own (a "warm process") that booted a sandbox.Warm in a slot
// directory and waits, on the slot's claim socket, for a front end to hand
// it a pod. The warm process then becomes that pod's per-sandbox process
// (the OCI front end's daemon or the shim's): QEMU and virtiofsd are
// tethered to it, so the VM can change hands only this way.
//
// A slot directory holds the engine's files (the VM directory, the crash
// record) and the pool's: warm.json (who, since when, ready or booting),
// claim.sock, claim.lock and log. A claim holds claim.lock while it talks
// to the warm process, so two claims never reach one VM, and a drain takes
// it before it stops one. A warm process that died leaves a slot whose
// owner is gone: the next claim, fill, drain or status cleans it up
// (sandbox.Cleanup), and it is never handed out.
package pool
