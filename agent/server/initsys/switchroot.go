package initsys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/agent/server/kmod"
	"golang.org/x/sys/unix"
)

// SwitchRootMarker exists only in a stage initramfs (guest.SwitchRootMarker,
// the same path: `kite guest build --format nvdimm` writes it): an
// initramfs that holds just the agent and the modules to mount the real
// root, which is on an NVDIMM.
const SwitchRootMarker = "/etc/kite/switch-root"

// ErrNoRoot means a stage initramfs booted without root= on the command
// line: it cannot serve anything itself.
var ErrNoRoot = errors.New("stage initramfs booted without a root")

// Stage is a stage initramfs's switch into the real root.
type Stage struct {
	Root Root
	// ModulesList is the initramfs's module list (the NVDIMM and ext4
	// stack), loaded before the root device can appear.
	ModulesList string
	// Target is where the root is mounted before it becomes "/".
	Target string
	// DeviceTimeout bounds the wait for Root.Device.
	DeviceTimeout time.Duration
}

// StageFromCmdline returns the stage to run, or ok false when this is not a
// stage initramfs (no SwitchRootMarker under root): the agent then goes on
// as usual. A stage initramfs without root= is ErrNoRoot.
func StageFromCmdline(root, cmdline string) (Stage, bool, error) {
	if _, err := os.Stat(filepath.Join(root, SwitchRootMarker)); err != nil {
		return Stage{}, false, nil
	}
	r, ok := ParseRoot(cmdline)
	if !ok {
		return Stage{}, true, fmt.Errorf("%w: this initramfs only mounts the guest root image from an NVDIMM "+
			"(guest.image_type = \"nvdimm\"), and the kernel command line has no root=", ErrNoRoot)
	}
	return Stage{Root: r, ModulesList: "/etc/kite/modules.load", Target: "/sysroot", DeviceTimeout: 20 * time.Second}, true, nil
}

// movedMounts are the base mounts carried into the new root (their
// submounts move with them), so the agent finds them there.
var movedMounts = []string{"/dev", "/proc", "/sys", "/run", "/tmp"}

// Enter mounts the root, carries the base mounts over, frees the initramfs
// and makes the root "/"; Exec then runs the root's agent.
func (s Stage) Enter(ctx context.Context) error {
	if err := s.mountRoot(ctx); err != nil {
		return err
	}
	for _, m := range movedMounts {
		if err := unix.Mount(m, filepath.Join(s.Target, m), "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("moving %s into the new root: %w", m, err)
		}
	}
	if err := freeInitramfs("/", filepath.Base(s.Target)); err != nil {
		return err
	}
	return enterRoot(s.Target)
}

// Exec executes /init of the new root (the agent again, now from the root
// image) with the same arguments, as PID 1 still. It returns only on
// failure.
func Exec() error {
	err := unix.Exec("/init", os.Args, os.Environ())
	return fmt.Errorf("executing /init of the new root: %w", err)
}

// mountRoot loads the modules, waits for the device and mounts it, with a
// writable /etc.
func (s Stage) mountRoot(ctx context.Context) error {
	paths, err := kmod.ReadList(s.ModulesList)
	if err != nil {
		return err
	}
	if err := kmod.LoadList(paths); err != nil {
		return err
	}
	if err := WaitDevice(ctx, s.Root.Device, s.DeviceTimeout); err != nil {
		return err
	}
	var flags uintptr
	if s.Root.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	if err := os.MkdirAll(s.Target, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(s.Root.Device, s.Target, s.Root.FSType, flags, s.Root.Options); err != nil {
		return fmt.Errorf("mounting the root %s on %s (%s, %q): %w", s.Root.Device, s.Target, s.Root.FSType, s.Root.Options, err)
	}
	if s.Root.ReadOnly {
		return WritableDir(filepath.Join(s.Target, "etc"))
	}
	return nil
}

// WaitDevice polls for the device node: the kernel creates it in devtmpfs
// once the driver has probed, which for an NVDIMM happens asynchronously
// after nfit loads.
func WaitDevice(ctx context.Context, dev string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(dev); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the root device %s: %w (is the NVDIMM attached, and its image valid?)", dev, ctx.Err())
		case <-tick.C:
		}
	}
}

// freeInitramfs removes the initramfs's files (everything under root but
// keep), as switch_root(8) does: the initramfs lives in guest RAM for the
// VM's lifetime otherwise. It refuses anything but a ramfs or tmpfs root,
// so a mistake cannot wipe a real file system.
func freeInitramfs(root, keep string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return fmt.Errorf("checking the initramfs: %w", err)
	}
	if st.Type != unix.RAMFS_MAGIC && st.Type != unix.TMPFS_MAGIC {
		return fmt.Errorf("refusing to free %s: it is not a ramfs or tmpfs (magic %#x)", root, st.Type)
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if e.Name() != keep {
			errs = append(errs, os.RemoveAll(filepath.Join(root, e.Name())))
		}
	}
	return errors.Join(errs...)
}

// enterRoot makes dir the root, as switch_root(8) does (pivot_root cannot
// move the initramfs's rootfs).
func enterRoot(dir string) error {
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("entering the new root: %w", err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("moving the new root to /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("entering the new root: %w", err)
	}
	return unix.Chdir("/")
}

// WritableDir mounts a tmpfs over dir holding a copy of what dir held. The
// guest root image is mounted read-only (one copy, shared by every VM through
// the host page cache), but the agent writes /etc/resolv.conf.
func WritableDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mounting a tmpfs on %s: %w", dir, err)
	}
	// The fd still reaches the directory under the new mount.
	src := fmt.Sprintf("/proc/self/fd/%d/.", fd)
	if err := copyTree(src, dir); err != nil {
		return fmt.Errorf("copying %s into its tmpfs: %w", dir, err)
	}
	return nil
}

// copyTree copies the regular files, directories and symlinks under src
// into dst (which exists), keeping permission bits.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
		case d.Type()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(target, data, 0o600); err != nil {
				return err
			}
		default:
			return nil // no device nodes or sockets in /etc
		}
		return os.Chmod(target, info.Mode()&(os.ModePerm|os.ModeSticky|os.ModeSetuid|os.ModeSetgid))
	})
}
