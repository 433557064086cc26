// Package vmlinux turns a Linux x86 bzImage into the uncompressed ELF vmlinux
// that QEMU boots through the PVH entry point (2.2 s instead of 5.2 s for the
// bzImage under TCG: the real-mode setup and the in-guest decompression are
// skipped). It owns the boot-protocol setup header, the payload decoders (gzip,
// and xz including the x86 BCJ filter Linux uses) and the ELF checks that make
// sure QEMU will accept the result.
package vmlinux
