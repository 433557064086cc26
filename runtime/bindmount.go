package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// bindReadOnly bind-mounts the directory from at to (created), read-only with
// every mount below it (mount_setattr, Linux 5.12+): a plain read-only
// remount would leave the submounts writable.
func bindReadOnly(from, to string) error {
	if err := os.MkdirAll(to, 0o700); err != nil {
		return fmt.Errorf("creating mount point: %w", err)
	}
	if err := unix.Mount(from, to, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		os.Remove(to)
		return fmt.Errorf("bind-mounting %s on %s: %w", from, to, err)
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(-1, to, unix.AT_RECURSIVE, attr); err != nil {
		err = fmt.Errorf("making %s read-only: %w", to, err)
		return errors.Join(err, unbind(to))
	}
	return nil
}

// unbind detaches the bind mount at path and removes the mount point.
func unbind(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unmounting %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing mount point: %w", err)
	}
	return nil
}
