// Package guest builds the guest image Kite boots in every sandbox VM: a
// kernel as an uncompressed ELF vmlinux for PVH boot, and a reproducible
// initramfs holding the agent as /init, busybox, the kernel modules the
// agent loads (in dependency order, listed in /etc/kite/modules.load), the
// kernel's modules.builtin (so the agent knows what needs no loading) and a
// manifest of what went in.
//
// The kernel is the Kite kernel (KernelKite): Debian's linux-source package
// of the same version as Debian's kernel, built by guest/kernel with Kite's
// config fragment, every driver Kite uses built in; it is built once per
// source, fragments and toolchain and kept in the cache (kite-kernel-<key>).
// Or Debian's own (KernelDebian): linux-image-amd64, fetched with apt-get
// download, its bzImage converted to vmlinux, Kite's drivers loaded as
// modules at boot.
//
// With FormatNVDIMM (`kite guest build --format nvdimm`) the same tree goes
// into rootfs.img, an ext4 image with the NVDIMM PFN-info prefix
// (fsshare/nvdimm) that the runtime maps read-only as an NVDIMM and the
// guest mounts as its root with DAX; the initramfs then holds only the agent
// and BootModules, and the agent switches root (agent/server/initsys).
//
// Build is the entry point (`kite guest build`); LoadManifest and PathsIn are
// what the runtime uses to find a built image. Builds are cached: the
// manifest records the hashes of every input, and a build whose inputs did
// not change only verifies the outputs. Every output is written to a
// temporary file and renamed into place, and the manifest last, so an
// interrupted build never leaves a file a later build trusts.
package guest
