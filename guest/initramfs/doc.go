// Package initramfs writes and reads gzip-compressed cpio "newc" archives, the
// format the Linux kernel unpacks into its root file system at boot. Archives
// are reproducible: entries are sorted, every parent directory is present
// before its children, owners are root, mtimes are zero and the gzip header
// carries no name or time, so the same entries always give the same bytes.
package initramfs
