package fsshare

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
	"golang.org/x/sys/unix"
)

// The sandbox's shared directory: one share per sandbox, into which each
// container's root file system and bind mounts appear through host bind
// mounts (Bind), so that adding a container to a running sandbox needs no
// new device.
const (
	// SharedTag is the tag the shared directory is exported under.
	SharedTag = "kite-shared"
	// SharedStorage is the agent storage id the shared directory is
	// mounted as (in CreateSandbox); containers name it in their rootfs and
	// mounts.
	SharedStorage = "shared"
	// SharedDirName is the shared directory in the VM directory.
	SharedDirName = "shared"
	sharedID      = "share0"
)

// SharedDir is the sandbox's shared directory, an attachment: a directory
// of the VM directory that is a mount of its own with shared propagation,
// exported as the share SharedTag. virtiofsd serves it from a mount
// namespace that is a slave of ours, so a bind mount made under it after
// virtiofsd started still reaches the guest.
type SharedDir struct {
	share *Share

	mu    sync.Mutex
	ready bool            // guarded by mu: attached
	binds map[string]bool // guarded by mu: names currently bound
}

var (
	_ attach.Attachment = (*SharedDir)(nil)
	_ attach.Previewer  = (*SharedDir)(nil)
)

// NewSharedDir plans the shared directory of the VM directory dir.
func NewSharedDir(fs configs.SharedFS, dir string) (*SharedDir, error) {
	s, err := NewShare(fs, dir, sharedID, SharedTag, filepath.Join(dir, SharedDirName), false)
	if err != nil {
		return nil, err
	}
	return &SharedDir{share: s, binds: map[string]bool{}}, nil
}

// Share is the share the directory is exported as.
func (d *SharedDir) Share() *Share { return d.share }

// Path is the directory on the host.
func (d *SharedDir) Path() string { return d.share.HostPath }

// Name implements attach.Attachment.
func (d *SharedDir) Name() string { return d.share.Name() }

// Needs implements attach.Attachment.
func (d *SharedDir) Needs() attach.Needs { return d.share.Needs() }

// Preview implements attach.Previewer.
func (d *SharedDir) Preview() qemu.Device { return d.share.Preview() }

// Storage is how the sandbox mounts the shared directory: storage
// SharedStorage at the agent's default place.
func (d *SharedDir) Storage() *protocol.Storage { return d.share.Storage(SharedStorage, "") }

// GuestPath is where a name given to Bind appears in the guest.
func GuestPath(name string) string { return path.Join(protocol.StorageRoot, SharedStorage, name) }

// Attach creates the directory as a mount of its own with shared
// propagation, then attaches the share. Its undo removes whatever is still
// bound, then the directory.
func (d *SharedDir) Attach(ctx context.Context, host *cleanup.Stack) (attach.Plugged, error) {
	p := d.Path()
	if err := os.Mkdir(p, 0o700); err != nil {
		return attach.Plugged{}, fmt.Errorf("creating the shared directory: %w", err)
	}
	if err := unix.Mount(p, p, "", unix.MS_BIND, ""); err != nil {
		os.Remove(p)
		return attach.Plugged{}, fmt.Errorf("bind-mounting the shared directory %s on itself: %w", p, err)
	}
	host.Add("remove the shared directory", d.remove)
	if err := unix.Mount("", p, "", unix.MS_SHARED, ""); err != nil {
		return attach.Plugged{}, fmt.Errorf("making the shared directory %s shared: %w", p, err)
	}
	plugged, err := d.share.Attach(ctx, host)
	if err != nil {
		return attach.Plugged{}, err
	}
	d.mu.Lock()
	d.ready = true
	d.mu.Unlock()
	return plugged, nil
}

// Bind makes hostPath (a directory or a file) appear in the guest at name
// inside the shared directory, read-only if asked, by a bind mount with
// private propagation: mounts made later under hostPath do not follow it.
// name is a relative path of letters, digits and _.- components
// ("c1/rootfs"); GuestPath(name) is where the guest has it.
func (d *SharedDir) Bind(name, hostPath string, readOnly bool) error {
	if err := checkName(name); err != nil {
		return err
	}
	src, err := OpenSource(hostPath)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return fmt.Errorf("%w: sharing %q: %w", ErrHost, hostPath, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case !d.ready:
		return fmt.Errorf("%w: the shared directory %s is not attached", ErrInvalid, d.Path())
	case d.binds[name]:
		return fmt.Errorf("%w: %q is already shared", ErrInvalid, name)
	}
	if err := d.bind(name, src.ProcPath(), st.IsDir(), readOnly); err != nil {
		return fmt.Errorf("sharing %s as %q: %w", hostPath, name, err)
	}
	d.binds[name] = true
	return nil
}

// Unbind undoes Bind: the bind mount is detached (lazily: a guest that
// still uses it keeps its view until it lets go) and its mount point and
// the parents Bind made are removed.
func (d *SharedDir) Unbind(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.binds[name] {
		return fmt.Errorf("%w: %q is not shared", ErrNotFound, name)
	}
	delete(d.binds, name)
	return d.unbind(name)
}

// UnbindAll unbinds every name under prefix/ (a container's).
func (d *SharedDir) UnbindAll(prefix string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for name := range d.binds {
		if strings.HasPrefix(name, prefix+"/") {
			delete(d.binds, name)
			errs = append(errs, d.unbind(name))
		}
	}
	return errors.Join(errs...)
}

// bind mounts hostPath at name, undoing its own steps when one fails.
func (d *SharedDir) bind(name, hostPath string, dir, readOnly bool) error {
	target := filepath.Join(d.Path(), name)
	if err := makeMountPoint(target, dir); err != nil {
		return err
	}
	if err := bindMount(hostPath, target, readOnly); err != nil {
		return errors.Join(err, d.unbind(name))
	}
	return nil
}

func makeMountPoint(target string, dir bool) error {
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
func (d *SharedDir) unbind(name string) error {
	target := filepath.Join(d.Path(), name)
	if err := detachMounts(target); err != nil {
		return err
	}
	return removeUpTo(target, d.Path())
}

// remove unbinds every name left, then the directory's own mount, then the
// directory.
func (d *SharedDir) remove() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ready = false
	var errs []error
	for name := range d.binds {
		errs = append(errs, d.unbind(name))
		delete(d.binds, name)
	}
	p := d.Path()
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		errs = append(errs, fmt.Errorf("unmounting the shared directory: %w", err))
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		names, _ := filepath.Glob(filepath.Join(p, "*"))
		errs = append(errs, fmt.Errorf("removing the shared directory (left: %q): %w", names, err))
	}
	return errors.Join(errs...)
}
