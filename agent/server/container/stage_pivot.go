package container

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kite-vm/kite/internal/mountinfo"
	"golang.org/x/sys/unix"
)

// enterRoot makes root the stage's "/" and detaches the guest's tree.
func enterRoot(root string, noPivot bool) error {
	if !noPivot {
		err := pivotRoot(root)
		// EINVAL: the current root is the initramfs (rootfs), which
		// pivot_root cannot move away from.
		if !errors.Is(err, unix.EINVAL) {
			return err
		}
	}
	return moveRoot(root)
}

// pivotRoot uses pivot_root(".", "."), which needs no directory for the
// old root: the old root ends up mounted on top of the new one, and
// unmounting "/" then uncovers the new root.
func pivotRoot(root string) error {
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return stageErr("opening the old root", err)
	}
	defer unix.Close(oldRoot)
	if err := unix.Chdir(root); err != nil {
		return stageErr(fmt.Sprintf("entering rootfs %q", root), err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return stageErr("pivot_root", err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return stageErr("entering the old root", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return stageErr("unmounting the old root", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return stageErr("entering the new root", err)
	}
	return nil
}

// moveRoot is runc's no-pivot path: detach every guest mount that is not
// the new root, under it or above it, move the new root onto "/" and chroot
// into it. The guest's root stays underneath but unreachable: ".." at the
// top of a mount leads back down into the mount on top.
func moveRoot(root string) error {
	points, err := mountPoints()
	if err != nil {
		return stageErr("reading mountinfo", err)
	}
	// Deepest first, so that a parent never goes before its children.
	slices.SortFunc(points, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, p := range points {
		if within(p, root) || within(root, p) {
			continue
		}
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return stageErr(fmt.Sprintf("detaching guest mount %q", p), err)
		}
	}
	if err := unix.Chdir(root); err != nil {
		return stageErr(fmt.Sprintf("entering rootfs %q", root), err)
	}
	if err := unix.Mount(root, "/", "", unix.MS_MOVE, ""); err != nil {
		return stageErr("moving rootfs onto /", err)
	}
	if err := unix.Chroot("."); err != nil {
		return stageErr("chroot", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return stageErr("entering the new root", err)
	}
	return nil
}

// within reports whether path p is dir or below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// mountPoints lists the mount points in /proc/self/mountinfo.
func mountPoints() ([]string, error) {
	mounts, err := mountinfo.Read("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	points := make([]string, 0, len(mounts))
	for _, m := range mounts {
		points = append(points, m.Target)
	}
	return points, nil
}
