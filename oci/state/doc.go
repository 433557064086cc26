// Package state owns the on-disk state of Kite's containers: one directory
// per container under a root (/run/kite by default, --root for the CLI),
// holding state.json and a lock file. Creating the directory reserves the
// id; state.json is replaced atomically, so that a reader sees the old state
// or the new one, never a mix; a per-container flock serializes the CLI
// commands that change a container.
//
// For a VM runtime the process that the OCI state calls the container's
// pid is Kite's per-sandbox host process: it owns the VM (QEMU, virtiofsd)
// and relays the container's stdio. State records its start time too, so
// that a recycled pid is not taken for it (Alive).
package state
