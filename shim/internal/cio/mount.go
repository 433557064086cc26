package cio

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/containerd/containerd/api/types"
	"golang.org/x/sys/unix"
)

// mountFlags are the mount(8) options that are flags rather than file
// system data; clear says the option removes the flag.
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"nosuid": {false, unix.MS_NOSUID}, "suid": {true, unix.MS_NOSUID},
	"nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC},
	"noatime": {false, unix.MS_NOATIME}, "atime": {true, unix.MS_NOATIME},
	"relatime": {false, unix.MS_RELATIME}, "norelatime": {true, unix.MS_RELATIME},
	"strictatime": {false, unix.MS_STRICTATIME}, "sync": {false, unix.MS_SYNCHRONOUS},
	"bind": {false, unix.MS_BIND}, "rbind": {false, unix.MS_BIND | unix.MS_REC},
}

// ParseMountOptions splits options into flags and file system data.
func ParseMountOptions(options []string) (flags uintptr, data string) {
	var rest []string
	for _, o := range options {
		f, ok := mountFlags[o]
		switch {
		case !ok:
			rest = append(rest, o)
		case f.clear:
			flags &^= f.flag
		default:
			flags |= f.flag
		}
	}
	return flags, strings.Join(rest, ",")
}

// MountRootfs mounts the snapshot containerd prepared (an overlay, or a
// bind of a directory) on target, the bundle's rootfs directory, as
// containerd-shim-runc-v2 does; the VM then shares target.
func MountRootfs(ms []*types.Mount, target string) error {
	for i, m := range ms {
		flags, data := ParseMountOptions(m.GetOptions())
		if err := unix.Mount(m.GetSource(), target, m.GetType(), flags, data); err != nil {
			err = fmt.Errorf("mounting rootfs %d (%s %s) on %s: %w", i, m.GetType(), m.GetSource(), target, err)
			return errors.Join(err, UnmountAll(target))
		}
		if flags&unix.MS_BIND != 0 && flags&unix.MS_RDONLY != 0 {
			if err := unix.Mount("", target, "", flags|unix.MS_REMOUNT, ""); err != nil {
				return errors.Join(fmt.Errorf("making rootfs %s read-only: %w", target, err), UnmountAll(target))
			}
		}
	}
	return nil
}

// UnmountAll unmounts everything stacked on target.
func UnmountAll(target string) error {
	for range 16 {
		err := unix.Unmount(target, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, os.ErrNotExist) {
			return nil // not a mount point (any more)
		}
		if err != nil {
			return fmt.Errorf("unmounting %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmounting %s: still mounted after 16 unmounts", target)
}
