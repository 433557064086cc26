package fsshare

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/kite-vm/kite/fsshare/safepath"
	"golang.org/x/sys/unix"
)

// Mount points live in directories the guest can write: the shared
// directory and the 9p backends are served to it read-write, so a guest
// (a container that broke out to the guest kernel) can put a link where
// Kite will later make a mount point. Every mount point is therefore
// created, mounted on, unmounted and removed through paths resolved beneath
// its top directory (safepath), never by a name the kernel would resolve
// through such a link onto the host.

// dirMode is the mode of the directories Kite makes in what it shares
// with the guest (the shared directory, mount points, 9p backends): the
// guest's root only may list them, but any guest user may pass through,
// because a container in a user namespace of its own is an unprivileged
// guest user that must reach its root file system and bind sources. On the
// host they sit inside the sandbox's directory, which only root may enter.
const dirMode = 0o711

// mountPoint creates name beneath top, a directory or an empty file, with
// the directories above it, and returns it open: a mount made through its
// ProcPath lands there whatever happens to the names meanwhile. name must
// not exist.
func mountPoint(top, name string, dir bool) (*safepath.Path, error) {
	var err error
	if parent := path.Dir(name); parent != "." {
		err = safepath.MkdirAll(top, parent, dirMode)
	}
	if err == nil && dir {
		err = safepath.Mkdir(top, name, dirMode)
	} else if err == nil {
		err = safepath.Create(top, name, 0o600)
	}
	if errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("%w: mount point %s exists in %s", ErrInvalid, name, top)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: creating mount point %s in %s: %w", ErrInvalid, name, top, err)
	}
	return safepath.Open(top, name)
}

// detachBeneath lazily detaches everything mounted at name beneath top.
// Each round opens the mount point afresh (landing on the top of its
// stack of mounts) and unmounts that through its ProcPath.
func detachBeneath(top, name string) error {
	for {
		p, err := safepath.Open(top, name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unmounting %s in %s: %w", name, top, err)
		}
		err = unix.Unmount(p.ProcPath(), unix.MNT_DETACH)
		p.Close()
		if errors.Is(err, unix.EINVAL) {
			return nil // nothing (more) mounted there
		}
		if err != nil {
			return fmt.Errorf("unmounting %s in %s: %w", name, top, err)
		}
	}
}

// removeBeneath removes name and its empty parents beneath top. Only
// empty directories and the placeholder file go: nothing is ever removed
// through a mount or a link.
func removeBeneath(top, name string) error {
	if err := safepath.Remove(top, name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing mount point: %w", err)
	}
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if safepath.Remove(top, dir) != nil {
			break // not empty: something else lives under it
		}
	}
	return nil
}
