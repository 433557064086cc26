// Package oci turns an OCI bundle into what Kite needs to run it in a VM: it
// loads and checks <bundle>/config.json (Load), converts the spec into a Plan
// holding the host directory to share as the root file system and the
// agent's CreateContainerRequest (Convert), and parses `kite kill` signals
// (ParseSignal).
//
// Convert is pure. It refuses what it cannot honour without silently
// changing the container's semantics (host bind mounts, user namespaces,
// host devices the guest does not have...), naming the field, and lists in
// Plan.Ignored what it drops because it does not matter inside a VM (hooks,
// seccomp, AppArmor and SELinux labels, host cgroup knobs), so that the CLI
// can log it.
package oci
