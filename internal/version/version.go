// Package version holds Kite's version, shared by the CLI, the shim and the
// agent so that a host and a guest can tell whether they match.
package version

// Version is Kite's release version.
const Version = "0.1.0-dev"

// commit is set at link time (-ldflags "-X .../internal/version.commit=...").
var commit = ""

// String returns the version with the commit when known.
func String() string {
	if commit == "" {
		return Version
	}
	return Version + " (" + commit + ")"
}
