// Package cgroup manages the guest's cgroup v2 tree for containers: each
// container gets <root>/kite/<id>, which the agent freezes and thaws (pause,
// resume), limits (cpu.max, cpu.weight, cpuset.cpus, memory.max, pids.max),
// reads usage from and kills. The root is passed in (normally
// /sys/fs/cgroup), so tests run against fake trees or a cgroup2 mount of
// their own.
package cgroup
