// Package initsys does what an init system would do for the agent, which
// runs as PID 1 of the guest with nothing else to set the machine up: it
// mounts the kernel's pseudo file systems and tmpfs directories, attaches
// stdio to the console and makes PID 1 deaf to the signals that would
// otherwise kill it (PID 1 dying panics the guest kernel). Reaping orphans
// is the reaper package's job.
//
// It also runs the stage of an NVDIMM guest (`kite guest build --format
// nvdimm`): from a small initramfs marked by SwitchRootMarker, it loads the
// NVDIMM and ext4 modules, mounts the root named by root= (read-only with
// DAX, /etc made writable on a tmpfs), moves the base mounts over, frees
// the initramfs and switches root into the image, whose agent then starts.
package initsys
