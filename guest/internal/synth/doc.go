// Package synth writes small but real-format kernel artifacts for Kite's guest
// builder tests: an x86-64 vmlinux ELF with a PVH note, a bzImage around a
// compressed payload, xz streams (with or without the x86 BCJ filter), kernel
// modules with a .modinfo section, and Debian packages. Tests build inputs
// with it instead of downloading a kernel, so the parsers run against the
// formats themselves rather than against mocks.
package synth
