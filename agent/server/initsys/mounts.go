package initsys

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kite-vm/kite/internal/mountinfo"
	"golang.org/x/sys/unix"
)

// Mount is one file system to mount at boot.
type Mount struct {
	Source string
	Target string // absolute, relative to the root MountAll is given
	FSType string
	Flags  uintptr
	Data   string
}

const (
	noSuidDev  = unix.MS_NOSUID | unix.MS_NODEV
	noSuidExec = unix.MS_NOSUID | unix.MS_NOEXEC
)

// BaseMounts returns the guest's boot mounts in mount order. The kernel
// mounts none of them itself (not even devtmpfs for an initramfs).
func BaseMounts() []Mount {
	return []Mount{
		{Source: "proc", Target: "/proc", FSType: "proc", Flags: noSuidDev | unix.MS_NOEXEC},
		{Source: "sysfs", Target: "/sys", FSType: "sysfs", Flags: noSuidDev | unix.MS_NOEXEC},
		{Source: "devtmpfs", Target: "/dev", FSType: "devtmpfs", Flags: unix.MS_NOSUID, Data: "mode=0755"},
		// ptmxmode lets unprivileged container users open /dev/pts/ptmx.
		{Source: "devpts", Target: "/dev/pts", FSType: "devpts", Flags: noSuidExec, Data: "mode=0620,ptmxmode=0666"},
		{Source: "shm", Target: "/dev/shm", FSType: "tmpfs", Flags: noSuidDev, Data: "mode=1777"},
		{Source: "tmpfs", Target: "/run", FSType: "tmpfs", Flags: noSuidDev, Data: "mode=0755"},
		{Source: "tmpfs", Target: "/tmp", FSType: "tmpfs", Flags: noSuidDev, Data: "mode=1777"},
		{Source: "cgroup2", Target: "/sys/fs/cgroup", FSType: "cgroup2", Flags: noSuidDev | unix.MS_NOEXEC},
	}
}

// MountAll mounts each of mounts under root ("/" in the guest), creating
// targets as needed. A target that already carries a mount of the same
// type is left alone, so the agent can be restarted or run under a /init
// script that mounted some of them.
func MountAll(root string, mounts []Mount) error {
	for _, m := range mounts {
		target := filepath.Join(root, m.Target)
		present, err := isMounted(root, target, m.FSType)
		if err != nil {
			return err
		}
		if present {
			continue
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("creating mount point %s: %w", target, err)
		}
		if err := unix.Mount(m.Source, target, m.FSType, m.Flags, m.Data); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.FSType, target, err)
		}
	}
	return nil
}

// isMounted reports whether target carries a mount of fstype, from the
// mount table under root's /proc, which is read only once /proc is there.
func isMounted(root, target, fstype string) (bool, error) {
	mounts, err := mountinfo.Read(filepath.Join(root, "proc", "thread-self", "mountinfo"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // no /proc yet: nothing is mounted
	}
	if err != nil {
		return false, err
	}
	for _, m := range mounts {
		if m.Target == target && m.FSType == fstype {
			return true, nil
		}
	}
	return false, nil
}
