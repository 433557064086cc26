// Package hostcgroup places a sandbox's host processes (the per-sandbox
// process, and so QEMU, virtiofsd and every helper it spawns) in the pod's
// host cgroup, linux.cgroupsPath, and applies the sandbox's limits there:
// the CPU quota and weight and the cpuset of its containers, summed, and
// a memory limit that is what the VM needs. Inside the VM the guest's
// cgroups keep enforcing each container's own limits; this package is the
// host's view of the VM as a whole, the one kubelet accounts for.
//
// It reads the host's layout from /proc/self/mountinfo and
// /proc/self/cgroup (cgroup v2, or v1 controllers mounted one by one with
// or without a cgroup2 mount beside them: "hybrid"), parses cgroupfs paths
// and systemd's "slice:prefix:name" (expanded to the cgroupfs path systemd
// would use: Kite writes the cgroup file system itself, it does not ask
// systemd over D-Bus), plans what to write where (pure), and applies it:
// it makes the sandbox's cgroup in every hierarchy, moves a process into
// it, updates its limits, reads its usage and the limits of the cgroups
// above it, and removes it, killing what is left in it first.
package hostcgroup
