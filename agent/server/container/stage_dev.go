package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// defaultDevices are bound from the guest into a container whose /dev is a
// tmpfs, as the OCI runtime spec requires. Binding rather than mknod keeps
// the guest's nodes the only ones.
var defaultDevices = [...]string{"null", "zero", "full", "random", "urandom", "tty"}

// defaultDevLinks are the /dev symlinks every container gets.
var defaultDevLinks = [...]struct{ name, target string }{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
	// The container's own devpts instance, mounted on /dev/pts.
	{"ptmx", "pts/ptmx"},
}

// populateDev fills a tmpfs /dev under root.
func populateDev(root string) error {
	for _, name := range defaultDevices {
		if err := bindDevice(root, name); err != nil {
			return stageErr(fmt.Sprintf("creating /dev/%s", name), err)
		}
	}
	for _, l := range defaultDevLinks {
		host, err := resolveInRoot(root, "/dev/"+l.name)
		if err != nil {
			return stageErr(fmt.Sprintf("creating /dev/%s", l.name), err)
		}
		if err := os.Symlink(l.target, host); err != nil && !errors.Is(err, fs.ErrExist) {
			return stageErr(fmt.Sprintf("creating /dev/%s", l.name), err)
		}
	}
	return nil
}

func bindDevice(root, name string) error {
	host, err := resolveInRoot(root, "/dev/"+name)
	if err != nil {
		return err
	}
	if err := createFile(host); err != nil {
		return err
	}
	return unix.Mount("/dev/"+name, host, "", unix.MS_BIND, "")
}

// makeDevice creates a node like d.Source (or by d's numbers) at
// d.Destination with d's mode and owner. mknod, not a bind: chmod and chown
// must not reach the guest's node.
func makeDevice(root string, d Device) error {
	op := fmt.Sprintf("creating device %q", d.Destination)
	kind, rdev := d.Kind, d.Rdev
	if d.Source != "" {
		var st unix.Stat_t
		if err := unix.Stat(d.Source, &st); err != nil {
			return stageErr(op, fmt.Errorf("stat %s: %w", d.Source, err))
		}
		kind, rdev = st.Mode&unix.S_IFMT, st.Rdev
		if kind != unix.S_IFCHR && kind != unix.S_IFBLK {
			return stageErr(op, fmt.Errorf("%s is not a device node", d.Source))
		}
	}
	host, err := resolveInRoot(root, d.Destination)
	if err != nil {
		return stageErr(op, err)
	}
	mode := d.Mode
	if mode == 0 {
		mode = 0o666
	}
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		return stageErr(op, err)
	}
	// Whatever the image has there is replaced.
	if fi, err := os.Lstat(host); err == nil && !fi.IsDir() {
		if err := os.Remove(host); err != nil {
			return stageErr(op, err)
		}
	}
	if err := unix.Mknod(host, kind|mode, int(rdev)); err != nil {
		return stageErr(op, err)
	}
	// mknod applied the umask.
	if err := unix.Chmod(host, mode); err != nil {
		return stageErr(op, err)
	}
	if err := unix.Lchown(host, int(d.UID), int(d.GID)); err != nil {
		return stageErr(op, err)
	}
	return nil
}

// bindDeviceNode gives a container in a user namespace of its own its
// device node d: mknod is not allowed there, so the guest's node is bound
// in, as runc binds the host's. The guest's node keeps its mode and owner
// (a chmod or chown would change the guest's). A node made by its numbers
// is bound from the guest's node of those numbers, if /dev has one.
func bindDeviceNode(root string, d Device) error {
	op := fmt.Sprintf("binding device %q (in a user namespace, device nodes are bound from the guest)", d.Destination)
	src := d.Source
	if src == "" {
		if d.Kind == unix.S_IFIFO {
			return makeDevice(root, d) // a FIFO needs no privilege
		}
		var err error
		if src, err = guestNodeOf(d.Kind, d.Rdev); err != nil {
			return stageErr(op, err)
		}
	}
	host, err := resolveInRoot(root, d.Destination)
	if err != nil {
		return stageErr(op, err)
	}
	if fi, err := os.Lstat(host); err == nil && !fi.IsDir() {
		if err := os.Remove(host); err != nil {
			return stageErr(op, err)
		}
	}
	if err := createFile(host); err != nil {
		return stageErr(op, err)
	}
	if err := unix.Mount(src, host, "", unix.MS_BIND, ""); err != nil {
		return stageErr(op, err)
	}
	return nil
}

// guestNodeOf finds the guest's node of a kind and number under /dev
// (devtmpfs names every device the guest has).
func guestNodeOf(kind uint32, rdev uint64) (string, error) {
	var found string
	errFound := errors.New("found")
	err := filepath.WalkDir("/dev", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.Type()&(fs.ModeDevice|fs.ModeCharDevice) == 0 {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) == nil && st.Mode&unix.S_IFMT == kind && st.Rdev == rdev {
			found = p
			return errFound
		}
		return nil
	})
	if found != "" {
		return found, nil
	}
	if err != nil && !errors.Is(err, errFound) {
		return "", err
	}
	return "", fmt.Errorf("the guest has no node %d:%d to bind", unix.Major(rdev), unix.Minor(rdev))
}
