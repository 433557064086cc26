// Package spec owns Kite's reading of an OCI bundle: it loads and checks
// <bundle>/config.json (Load), converts the spec into a Container, Kite's
// typed host-side container spec (Convert), converts an exec's process
// (ConvertProcess) and an update's limits (ConvertResources) under the same
// rules, and parses `kite kill` signals (ParseSignal).
//
// A Container says what the container needs, in host terms: the root file
// system directory, the host paths its mounts take (Mount.Host), the guest
// device nodes, namespaces and limits. It knows nothing of the agent's
// protocol: the engine puts the host paths into the VM, sets each such
// mount's guest source on its own copy (Clone), and only at the agent edge
// (sandbox/internal/agentreq) does the Container become a request.
//
// Convert is pure. It refuses what it cannot honour without silently
// changing the container's semantics (id-mapped mounts, user namespaces,
// host devices the guest does not have...), naming the field, and lists in
// Container.Ignored what it drops because it does not matter inside a VM
// (AppArmor and SELinux labels, host cgroup knobs), so that the
// front end can log it. OCI hooks are kept (Container.Hooks) for the front
// end to run on the host: the engine does not run them.
package spec
