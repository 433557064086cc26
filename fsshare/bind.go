package fsshare

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kite-vm/kite/fsshare/safepath"
	"github.com/kite-vm/kite/internal/mountinfo"
	"golang.org/x/sys/unix"
)

// bindReadOnly bind-mounts the directory from at to (created), read-only with
// every mount below it (mount_setattr, Linux 5.12+): a plain read-only
// remount would leave the submounts writable.
func bindReadOnly(from, to string) error {
	if err := os.MkdirAll(to, dirMode); err != nil {
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

// BindOptions say how a host path is bound, as the OCI bind mount options
// do (runc's semantics).
type BindOptions struct {
	// Recursive takes the mounts below the source along (rbind); without
	// it the bind shows the source's own file system only (bind).
	Recursive bool
	// ReadOnly makes the bind's own mount read-only (ro); the mounts below
	// it keep their flags, as with runc.
	ReadOnly bool
	// RecursiveReadOnly makes every mount of the bind read-only (rro,
	// runtime-spec 1.1); it implies ReadOnly.
	RecursiveReadOnly bool
}

// readOnlyBind is how directory volumes are bound: recursively, and wholly
// read-only if asked.
func readOnlyBind(readOnly bool) BindOptions {
	return BindOptions{Recursive: true, ReadOnly: readOnly, RecursiveReadOnly: readOnly}
}

// bindMount binds src at target with private propagation, as opts say; on
// failure nothing is left mounted at target. The bind is built detached
// (open_tree) and made read-only before it is attached: a mount's flags
// changed after it propagated would not reach its copies, such as the one
// in the mount namespace virtiofsd serves the shared directory from.
func bindMount(src, target string, opts BindOptions) error {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if opts.Recursive {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, src, flags)
	if err != nil {
		return fmt.Errorf("bind-mounting: cloning %s: %w", src, err)
	}
	defer unix.Close(fd) // a tree never attached goes with its last descriptor
	all := &unix.MountAttr{Propagation: unix.MS_PRIVATE}
	if opts.RecursiveReadOnly {
		all.Attr_set = unix.MOUNT_ATTR_RDONLY
	}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, all); err != nil {
		return fmt.Errorf("making the bind mount private: %w", err)
	}
	if opts.ReadOnly && !opts.RecursiveReadOnly {
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
			return fmt.Errorf("making the bind mount read-only: %w", err)
		}
	}
	// target is the /proc/self/fd path of a mount point resolved beneath
	// its directory (mountPoint): follow it, and nothing else.
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_SYMLINKS); err != nil {
		return fmt.Errorf("bind-mounting on %s: %w", target, err)
	}
	return nil
}

// hasSubmounts reports whether anything is mounted below target, per the
// mount table.
func hasSubmounts(target string) (bool, error) {
	ms, err := mountinfo.Read("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if strings.HasPrefix(m.Target, target+"/") {
			return true, nil
		}
	}
	return false, nil
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

// OpenSource resolves a bind source as the host does, every symbolic link
// followed, as runc does: the source is named by the spec, that is by the
// orchestrator, who may name any host path (docs/security.md, "Symbolic
// links"). The bind is then made from the opened file, so a link swapped
// after the resolution cannot redirect it.
func OpenSource(hostPath string) (*safepath.Path, error) {
	if !filepath.IsAbs(hostPath) {
		return nil, fmt.Errorf("%w: share source %q is not an absolute path", ErrInvalid, hostPath)
	}
	p, err := safepath.OpenHost(filepath.Clean(hostPath))
	if err != nil {
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
