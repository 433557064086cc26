// Package safepath resolves the paths Kite mounts from and onto, and hands
// back O_PATH files the caller mounts through (their /proc/self/fd paths),
// so that what gets mounted, and where, is exactly what was resolved: a
// link swapped after the resolution cannot redirect the mount.
//
// Kite follows a symbolic link only when whoever could have made it is as
// trusted as whoever named the path (docs/security.md, "Symbolic links"):
//
//   - A bind source is named by the OCI spec, that is by the orchestrator,
//     root on the host and entitled to mount any host path: OpenHost
//     resolves it as the host does, every link followed, as runc does.
//   - A mount point lives in a directory the guest can write (the shared
//     directory, a 9p backend): Open, Mkdir, MkdirAll, Create and Remove
//     work beneath such a root, and a link that would leave it is refused,
//     not confined. Confinement (openat2's RESOLVE_IN_ROOT, where
//     "/etc/passwd" means <root>/etc/passwd) would quietly act on another
//     file than the link names; a refusal names it. So Open resolves like
//     RESOLVE_BENEATH: an absolute link, or a ".." that climbs above the
//     root, fails with ErrEscape naming the path and the offending link.
//
// Open uses openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS) where the kernel
// has it (5.6+) and a component-by-component walk with O_NOFOLLOW
// otherwise; the walk also names the link when openat2 refuses a path.
package safepath
