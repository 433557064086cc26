// Package kernel builds the Kite guest kernel: Debian's linux-source (the
// same version as Debian's own kernel) configured from allnoconfig plus
// Kite's config fragment (kite.config, embedded) and any of the operator's,
// merged with the kernel's scripts/kconfig/merge_config.sh. The build fails
// when the final .config lacks a value a fragment asked for, so kite.config
// is the kernel's exact feature list. The output is the uncompressed ELF
// vmlinux (QEMU boots it through its PVH entry, no bzImage step) and the
// few modules the fragment asks for as =m.
//
// KeyInputs.Key hashes what decides the output (source package, fragments,
// compiler and linker versions, the build recipe): the guest builder caches
// kernels by it.
package kernel
