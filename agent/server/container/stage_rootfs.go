package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// buildContainer sets up the init stage's namespaces and root: sysctls and
// hostname, then the root file system, ending inside it.
func buildContainer(spec *Spec, noPivot bool) error {
	for _, s := range spec.Sysctls {
		// Written through the guest's /proc before the root changes;
		// namespaced sysctls act on the writer's namespaces.
		p := "/proc/sys/" + strings.ReplaceAll(s.Key, ".", "/")
		if err := os.WriteFile(p, []byte(s.Value), 0); err != nil {
			return stageErr(fmt.Sprintf("setting sysctl %s", s.Key), err)
		}
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return stageErr("setting hostname", err)
		}
	}
	root, err := filepath.EvalSymlinks(spec.Rootfs)
	if err != nil {
		return stageErr("resolving rootfs", err)
	}
	if err := prepareRoot(root, spec); err != nil {
		return err
	}
	if err := enterRoot(root, noPivot); err != nil {
		return err
	}
	if spec.ReadonlyRootfs {
		if err := remountReadonly("/"); err != nil {
			return stageErr("remounting the root read-only", err)
		}
	}
	return nil
}

// prepareRoot makes every mount under root, before the root changes.
func prepareRoot(root string, spec *Spec) error {
	// Nothing the stage mounts may propagate back to the guest.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return stageErr("making mounts private", err)
	}
	// pivot_root needs the new root to be a mount point.
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return stageErr(fmt.Sprintf("bind-mounting rootfs %q", root), err)
	}
	userNS := spec.UserNS != nil
	for _, m := range spec.Mounts {
		if err := mountInRoot(root, m, userNS); err != nil {
			return err
		}
	}
	if devIsTmpfs(spec.Mounts) {
		if err := populateDev(root); err != nil {
			return err
		}
	}
	for _, d := range spec.Devices {
		mk := makeDevice
		if userNS {
			mk = bindDeviceNode
		}
		if err := mk(root, d); err != nil {
			return err
		}
	}
	for _, p := range spec.MaskedPaths {
		if err := maskPath(root, p); err != nil {
			return stageErr(fmt.Sprintf("masking %q", p), err)
		}
	}
	for _, p := range spec.ReadonlyPaths {
		if err := readonlyPath(root, p); err != nil {
			return stageErr(fmt.Sprintf("making %q read-only", p), err)
		}
	}
	return nil
}

// mountInRoot makes one mount at its destination resolved inside root. In
// a user namespace of the container's own (userNS), a bind keeps the flags
// the kernel locks on its source, and sysfs and cgroup file systems, which
// need the network and cgroup namespaces to belong to the container's user
// namespace, fall back to binds of the guest's, as runc does.
func mountInRoot(root string, m Mount, userNS bool) error {
	op := fmt.Sprintf("mount %s on %q", m.Type, m.Destination)
	pm, err := parseMount(m)
	if err != nil {
		return stageErr(op, err)
	}
	dest, err := resolveInRoot(root, m.Destination)
	if err != nil {
		return stageErr(fmt.Sprintf("mount destination %q", m.Destination), err)
	}
	if err := createMountPoint(dest, pm.bind(), m.Source); err != nil {
		return stageErr(op, err)
	}
	err = mountParsed(m.Source, dest, pm, userNS)
	if userNS && errors.Is(err, unix.EPERM) {
		if guest, ok := userNSFallback[pm.fstype]; ok {
			fb := parsedMount{flags: pm.flags | unix.MS_BIND | unix.MS_REC, propagation: pm.propagation}
			err = mountParsed(guest, dest, fb, true)
			op += " (a bind of the guest's " + guest + ": the container's user namespace does not own the namespace a new one needs)"
		}
	}
	if err != nil {
		return stageErr(op, err)
	}
	return nil
}

// userNSFallback is what a container in a user namespace of its own binds
// instead of mounting a file system its user namespace may not: sysfs
// needs the network namespace (the guest's), cgroup2 the cgroup namespace.
var userNSFallback = map[string]string{
	"sysfs":   "/sys",
	"cgroup2": "/sys/fs/cgroup",
	"cgroup":  "/sys/fs/cgroup",
}

// createMountPoint makes dest: a file when a file is bind-mounted, else a
// directory.
func createMountPoint(dest string, bind bool, source string) error {
	if bind {
		fi, err := os.Stat(source)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return createFile(dest)
		}
	}
	return os.MkdirAll(dest, 0o755)
}

// createFile makes an empty file at dest (and its parents) unless a
// non-directory is there already.
func createFile(dest string) error {
	if fi, err := os.Lstat(dest); err == nil && !fi.IsDir() {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dest, os.O_CREATE|os.O_WRONLY|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// mountParsed mounts source on dest. A bind mount ignores all flags but
// MS_BIND|MS_REC, so the others take a second, remounting call.
func mountParsed(source, dest string, pm parsedMount, userNS bool) error {
	if err := unix.Mount(source, dest, pm.fstype, pm.flags, pm.data); err != nil {
		return err
	}
	if pm.bind() && pm.remountFlags() != 0 {
		flags := pm.remountFlags()
		if userNS {
			// The kernel refuses to clear, in a user namespace, the flags
			// of a mount it got from a more privileged one.
			var st unix.Statfs_t
			if err := unix.Statfs(dest, &st); err != nil {
				return err
			}
			flags |= statfsToMountFlags(st.Flags)
			if st.Flags&unix.ST_RDONLY != 0 {
				flags |= unix.MS_RDONLY
			}
		}
		if err := unix.Mount("", dest, "", flags|unix.MS_BIND|unix.MS_REMOUNT, ""); err != nil {
			return fmt.Errorf("remounting with flags: %w", err)
		}
	}
	for _, prop := range pm.propagation {
		if err := unix.Mount("", dest, "", prop, ""); err != nil {
			return fmt.Errorf("setting propagation: %w", err)
		}
	}
	return nil
}

func devIsTmpfs(mounts []Mount) bool {
	for _, m := range mounts {
		if filepath.Clean(m.Destination) == "/dev" && m.Type == "tmpfs" {
			return true
		}
	}
	return false
}

// maskPath hides p: a directory under an empty read-only tmpfs, anything
// else under the guest's /dev/null.
func maskPath(root, p string) error {
	host, err := resolveInRoot(root, p)
	if err != nil {
		return err
	}
	fi, err := os.Stat(host)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return unix.Mount("tmpfs", host, "tmpfs", unix.MS_RDONLY, "size=0")
	}
	return unix.Mount("/dev/null", host, "", unix.MS_BIND, "")
}

// readonlyPath bind-mounts p read-only onto itself.
func readonlyPath(root, p string) error {
	host, err := resolveInRoot(root, p)
	if err != nil {
		return err
	}
	if _, err := os.Stat(host); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := unix.Mount(host, host, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return remountReadonly(host)
}

// remountReadonly makes the mount at p read-only, keeping its other flags
// (a remount replaces them all).
func remountReadonly(p string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return err
	}
	flags := statfsToMountFlags(st.Flags) | unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY
	return unix.Mount("", p, "", flags, "")
}
