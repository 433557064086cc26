// Package cli implements the `kite` command line: the runc-compatible OCI
// runtime commands and the host tools (check, env, guest build, ...). It parses
// flags, sets up logging and configuration, and calls into the runtime and
// subsystem packages; it holds no runtime logic of its own.
package cli
