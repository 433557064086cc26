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

// BackendDone implements attach.Backed.
func (d *SharedDir) BackendDone() <-chan struct{} { return d.share.BackendDone() }

// BackendDeath implements attach.Backed.
func (d *SharedDir) BackendDeath() error { return d.share.BackendDeath() }

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
	if err := os.Mkdir(p, dirMode); err != nil {
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

// Bound is what Bind made.
type Bound struct {
	// Submounts says mounts below the source came along (a recursive
	// bind of a directory with mounts under it). The guest sees them as
	// part of one file system: a guest mount made read-only would make
	// them read-only too, so a bind whose own mount alone is read-only
	// relies on the host's flags instead.
	Submounts bool
}

// Bind makes hostPath (a directory or a file) appear in the guest at name
// inside the shared directory, as opts say, by a bind mount with private
// propagation: mounts made later under hostPath do not follow it. name is
// a relative path of letters, digits and _.- components ("c1/rootfs");
// GuestPath(name) is where the guest has it.
func (d *SharedDir) Bind(name, hostPath string, opts BindOptions) (Bound, error) {
	if err := checkName(name); err != nil {
		return Bound{}, err
	}
	src, err := OpenSource(hostPath)
	if err != nil {
		return Bound{}, err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return Bound{}, fmt.Errorf("%w: sharing %q: %w", ErrHost, hostPath, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case !d.ready:
		return Bound{}, fmt.Errorf("%w: the shared directory %s is not attached", ErrInvalid, d.Path())
	case d.binds[name]:
		return Bound{}, fmt.Errorf("%w: %q is already shared", ErrInvalid, name)
	}
	b, err := d.bind(name, src.ProcPath(), st.IsDir(), opts)
	if err != nil {
		return Bound{}, fmt.Errorf("sharing %s as %q: %w", hostPath, name, err)
	}
	d.binds[name] = true
	return b, nil
}

// BindRoot shares a container's root file system at name, recursively and
// writable even when the container's root is read-only: as runc does, the
// guest creates the mount points the image lacks (/etc/resolv.conf in a
// pause image) in the root, then remounts it read-only.
func (d *SharedDir) BindRoot(name, hostPath string) error {
	_, err := d.Bind(name, hostPath, BindOptions{Recursive: true})
	return err
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
	// A failed unbind (a link the guest put on the way) keeps the name,
	// for a later Unbind or the directory's removal to finish.
	if err := d.unbind(name); err != nil {
		return err
	}
	delete(d.binds, name)
	return nil
}

// UnbindAll unbinds every name under prefix/ (a container's).
func (d *SharedDir) UnbindAll(prefix string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for name := range d.binds {
		if strings.HasPrefix(name, prefix+"/") {
			err := d.unbind(name)
			if err == nil {
				delete(d.binds, name)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// bind mounts hostPath at name, undoing its own steps when one fails.
func (d *SharedDir) bind(name, hostPath string, dir bool, opts BindOptions) (Bound, error) {
	target := filepath.Join(d.Path(), name)
	mp, err := mountPoint(d.Path(), name, dir)
	if err != nil {
		return Bound{}, err
	}
	defer mp.Close()
	if err := bindMount(hostPath, mp.ProcPath(), opts); err != nil {
		return Bound{}, errors.Join(err, d.unbind(name))
	}
	var b Bound
	if opts.Recursive && dir {
		sub, err := hasSubmounts(target)
		if err != nil {
			return Bound{}, errors.Join(fmt.Errorf("reading the mount table: %w", err), d.unbind(name))
		}
		b.Submounts = sub
	}
	return b, nil
}

// unbind detaches what is mounted at name and removes the mount point and
// the now empty parents under the shared directory. Only empty directories
// and the placeholder file go: nothing is ever removed through a mount.
func (d *SharedDir) unbind(name string) error {
	if err := detachBeneath(d.Path(), name); err != nil {
		return err
	}
	return removeBeneath(d.Path(), name)
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
