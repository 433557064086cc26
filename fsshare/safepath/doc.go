// Package safepath opens a volume source path, which may contain symbolic
// links, strictly inside its own root directory, and hands back an O_PATH
// file the caller bind-mounts from (through its /proc/self/fd path), so that
// what gets mounted is exactly what was resolved: a link swapped after the
// check cannot redirect the mount.
//
// A link that would leave the root is refused, not confined. Confinement
// (openat2's RESOLVE_IN_ROOT, a chroot-like reading where "/etc/passwd"
// means <root>/etc/passwd) silently mounts a different file than the link
// names, which a person reading the spec or the link would not expect; and
// the issue this serves asks for a clear error. So Open resolves like
// RESOLVE_BENEATH: an absolute link, or a ".." that climbs above the root,
// fails with ErrEscape naming the source and the offending link.
//
// Open uses openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS) where the kernel
// has it (5.6+) and a component-by-component walk with O_NOFOLLOW
// otherwise; the walk also names the link when openat2 refuses a path.
package safepath
