// Package state owns the on-disk state of Kite's containers: one directory
// per container under a root (runtime.root, /run/kite by default; --root for the CLI),
// holding state.json and a lock file. Creating the directory reserves the
// id; state.json is replaced atomically, so that a reader sees the old state
// or the new one, never a mix; a per-container flock serializes the CLI
// commands that change a container.
//
// For a VM runtime the process that the OCI state calls the container's
// pid is Kite's init proxy, which stands for the container's init (see
// package oci); next to it State records the per-sandbox host process,
// which owns the VM (QEMU, virtiofsd) and relays the container's stdio.
// State records their start times too, so that a recycled pid is not
// taken for either (Alive).
package state
