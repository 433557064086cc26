package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kite-vm/kite/fsshare/safepath"
	"golang.org/x/sys/unix"
)

// The sandbox's shared directory: one share per sandbox, into which each
// container's root file system and bind mounts appear through host bind
// mounts (VM.ShareDir), so that adding a container to a running sandbox
// needs no new device.
const (
	// SharedTag is the tag the shared directory is exported under.
	SharedTag = "kite-shared"
	// SharedStorage is the agent storage id to mount the shared directory
	// as (in CreateSandbox); containers name it in their Rootfs and mounts.
	SharedStorage = "shared"
	sharedDirName = "shared"
)

// allShares is the shares to attach: the shared directory first.
func (in VMInput) allShares() []Share {
	if !in.SharedDir {
		return in.Shares
	}
	return append([]Share{{Tag: SharedTag, HostPath: in.sharedDirPath()}}, in.Shares...)
}

func (in VMInput) sharedDirPath() string {
	if !in.SharedDir {
		return ""
	}
	return filepath.Join(in.Dir, sharedDirName)
}

// sharedDir is the booted VM's shared directory and what is bound into it.
type sharedDir struct {
	path  string
	mu    sync.Mutex
	binds map[string]bool // guarded by mu: names currently bound
}

// makeSharedDir creates the directory as a mount of its own with shared
// propagation: virtiofsd serves it from a mount namespace that is a slave
// of ours, so a bind mount made under it after virtiofsd started still
// reaches the guest. Its undo removes whatever is still bound.
func (b *booter) makeSharedDir() error {
	path := b.vm.plan.SharedDir
	if path == "" {
		return nil
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		return fmt.Errorf("creating the shared directory: %w", err)
	}
	if err := unix.Mount(path, path, "", unix.MS_BIND, ""); err != nil {
		os.Remove(path)
		return fmt.Errorf("bind-mounting the shared directory %s on itself: %w", path, err)
	}
	sd := &sharedDir{path: path, binds: map[string]bool{}}
	b.vm.shared = sd
	b.vm.pushUndoSimple("remove the shared directory", sd.remove)
	if err := unix.Mount("", path, "", unix.MS_SHARED, ""); err != nil {
		return fmt.Errorf("making the shared directory %s shared: %w", path, err)
	}
	return nil
}

// ShareDir makes hostPath (a directory or a file) appear in the guest at
// name inside the shared directory, read-only if asked, by a bind mount
// with private propagation: mounts made later under hostPath do not follow
// it. It returns the path relative to the share's root, for a
// protocol.Rootfs or a mount source in storage SharedStorage. name is a
// relative path of letters, digits and _.- components ("c1/rootfs").
func (vm *VM) ShareDir(name, hostPath string, readOnly bool) (string, error) {
	sd := vm.shared
	if sd == nil {
		return "", fmt.Errorf("%w: sandbox %q has no shared directory (VMInput.SharedDir)", ErrInvalid, vm.plan.ID)
	}
	if err := checkShareName(name); err != nil {
		return "", err
	}
	src, err := openSource(hostPath)
	if err != nil {
		return "", err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return "", fmt.Errorf("%w: sharing %q: %w", ErrHost, hostPath, err)
	}
	sd.mu.Lock()
	defer sd.mu.Unlock()
	if sd.binds[name] {
		return "", fmt.Errorf("%w: %q is already shared in sandbox %q", ErrInvalid, name, vm.plan.ID)
	}
	if err := sd.bind(name, src.ProcPath(), st.IsDir(), readOnly); err != nil {
		return "", fmt.Errorf("sharing %s as %q: %w", hostPath, name, err)
	}
	sd.binds[name] = true
	return name, nil
}

// UnshareDir undoes ShareDir: the bind mount is detached (lazily: a guest
// that still uses it keeps its view until it lets go) and its mount point
// and the parents ShareDir made are removed.
func (vm *VM) UnshareDir(name string) error {
	sd := vm.shared
	if sd == nil {
		return fmt.Errorf("%w: sandbox %q has no shared directory", ErrInvalid, vm.plan.ID)
	}
	sd.mu.Lock()
	defer sd.mu.Unlock()
	if !sd.binds[name] {
		return fmt.Errorf("%w: %q is not shared in sandbox %q", ErrInvalid, name, vm.plan.ID)
	}
	delete(sd.binds, name)
	return sd.unbind(name)
}

// openSource resolves a source path the way the mount will see it: a
// source that is a symbolic link may only lead to a sibling in its own
// directory (safepath), never to a host path the spec does not name; the
// bind is then made from the opened file, so a link swapped after the
// check cannot redirect it.
func openSource(hostPath string) (*safepath.Path, error) {
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

func checkShareName(name string) error {
	if name == "" || filepath.IsAbs(name) || filepath.Clean(name) != name {
		return fmt.Errorf("%w: shared name %q: want a clean relative path", ErrInvalid, name)
	}
	for _, c := range strings.Split(name, "/") {
		if c == "." || c == ".." || strings.Trim(c, tagChars) != "" || strings.Contains(c, ":") {
			return fmt.Errorf("%w: shared name %q: component %q: want letters, digits and _.-", ErrInvalid, name, c)
		}
	}
	return nil
}

// bind mounts hostPath at name, undoing its own steps when one fails.
func (sd *sharedDir) bind(name, hostPath string, dir, readOnly bool) error {
	target := filepath.Join(sd.path, name)
	if err := sd.makeMountPoint(target, dir); err != nil {
		return err
	}
	if err := bindMount(hostPath, target, readOnly); err != nil {
		return errors.Join(err, sd.unbind(name))
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

func (sd *sharedDir) makeMountPoint(target string, dir bool) error {
	if _, err := os.Lstat(target); err == nil {
		return fmt.Errorf("%w: mount point %s exists", ErrInvalid, target)
	}
	if !dir {
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		return f.Close()
	}
	return os.MkdirAll(target, 0o700)
}

// unbind detaches what is mounted at name and removes the mount point and
// the now empty parents under the shared directory. Only empty directories
// and the placeholder file go: nothing is ever removed through a mount.
func (sd *sharedDir) unbind(name string) error {
	target := filepath.Join(sd.path, name)
	if err := detachMounts(target); err != nil {
		return err
	}
	return removeUpTo(target, sd.path)
}

// remove unbinds every name left, then the directory's own mount, then the
// directory.
func (sd *sharedDir) remove() error {
	sd.mu.Lock()
	defer sd.mu.Unlock()
	var errs []error
	for name := range sd.binds {
		errs = append(errs, sd.unbind(name))
		delete(sd.binds, name)
	}
	if err := unix.Unmount(sd.path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		errs = append(errs, fmt.Errorf("unmounting the shared directory: %w", err))
	}
	if err := os.Remove(sd.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		names, _ := filepath.Glob(filepath.Join(sd.path, "*"))
		errs = append(errs, fmt.Errorf("removing the shared directory (left: %q): %w", names, err))
	}
	return errors.Join(errs...)
}
