// Package agentreq is the agent edge of the engine: the only place where a
// spec.Container, a spec.Process or spec.Resources becomes the agent's
// protobuf. Everything above it works on Kite's own typed spec and edits a
// copy; everything the guest is asked for passes through here, so the
// mapping (rlimit names to the protocol's enum, namespace modes, sysctls
// in key order, device modes) is written and tested once.
//
// The mapping is total and adds no policy: the refusals are spec.Convert's.
// The one thing it checks is the engine's own duty, that every mount of a
// host path was put into the VM (its Source set) before the request goes.
package agentreq
