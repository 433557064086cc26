package fsshare

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kite-vm/kite/fsshare/safepath"
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

// bindMount binds src (with what is mounted below it) at target with
// private propagation, read-only if asked; on failure nothing is left
// mounted at target.
func bindMount(src, target string, readOnly bool) error {
	fail := func(err error) error { return errors.Join(err, detachMounts(target)) }
	if err := unix.Mount(src, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mounting: %w", err)
	}
	if err := unix.Mount("", target, "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		return fail(fmt.Errorf("making the bind mount private: %w", err))
	}
	if readOnly {
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(-1, target, unix.AT_RECURSIVE, attr); err != nil {
			return fail(fmt.Errorf("making the bind mount read-only: %w", err))
		}
	}
	return nil
}

// detachMounts lazily detaches everything mounted at target.
func detachMounts(target string) error {
	for {
		err := unix.Unmount(target, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unmounting %s: %w", target, err)
		}
	}
}

// removeUpTo removes target and its empty parents below top. Only empty
// directories go: nothing is ever removed through a mount.
func removeUpTo(target, top string) error {
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing mount point: %w", err)
	}
	for dir := filepath.Dir(target); dir != top && strings.HasPrefix(dir, top+"/"); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty: something else lives under it
		}
	}
	return nil
}

// removeEmpty removes dir if it is empty; a directory still in use by
// another share stays.
func removeEmpty(dir string) error {
	err := os.Remove(dir)
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// OpenSource resolves a source path the way the mount will see it: a
// source that is a symbolic link may only lead to a sibling in its own
// directory (safepath), never to a host path the spec does not name; the
// bind is then made from the opened file, so a link swapped after the
// check cannot redirect it.
func OpenSource(hostPath string) (*safepath.Path, error) {
	if !filepath.IsAbs(hostPath) {
		return nil, fmt.Errorf("%w: share source %q is not an absolute path", ErrInvalid, hostPath)
	}
	clean := filepath.Clean(hostPath)
	root, rel := filepath.Dir(clean), filepath.Base(clean)
	if clean == "/" {
		root, rel = "/", "."
	}
	p, err := safepath.Open(root, rel)
	switch {
	case errors.Is(err, safepath.ErrEscape):
		return nil, fmt.Errorf("%w: share source %s: %w (name the link's target in the spec instead)", ErrInvalid, hostPath, err)
	case err != nil:
		return nil, fmt.Errorf("%w: share source %s: %w", ErrHost, hostPath, err)
	}
	return p, nil
}

// checkName checks a relative path of letters, digits and _.- components,
// as names in the shared directory are ("c1/rootfs").
func checkName(name string) error {
	if name == "" || filepath.IsAbs(name) || filepath.Clean(name) != name {
		return fmt.Errorf("%w: shared name %q: want a clean relative path", ErrInvalid, name)
	}
	for _, c := range strings.Split(name, "/") {
		if c == "." || c == ".." || strings.Trim(c, TagChars) != "" || strings.Contains(c, ":") {
			return fmt.Errorf("%w: shared name %q: component %q: want letters, digits and _.-", ErrInvalid, name, c)
		}
	}
	return nil
}

// removeLockFile removes virtiofsd's lock file in its state directory,
// which is root's: when we may not write there, neither could virtiofsd,
// which runs as us, so there is no lock file of ours.
func removeLockFile(path string) error {
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) {
		return err
	}
	return nil
}
