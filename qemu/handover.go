package qemu

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// handover is a file Start opens and passes to QEMU ahead of the devices'
// files, so that QEMU needs no access to the directory it lives in.
type handover int

const (
	// handQMP is the QMP socket, bound and listening: -chardev socket,fd=3.
	handQMP handover = iota
	// handConsole is QEMU's end of the console socket, which Start drains
	// into the console log: -chardev socket,fd=4 (consolelog.go).
	handConsole
)

// The fds of the handed-over files: Build hands the QMP listener first,
// then the console socket.
const (
	qmpFD     = 3
	consoleFD = 4
)

// pathUse is a path QEMU opens by itself, for Start's access check.
type pathUse struct {
	what  string // "kernel", "nvdimm nv0", ...
	path  string
	write bool
	// file, when set, is path passed open, which QEMU reopens through
	// /proc/self/fd: the check is then of the file itself, not of the
	// directories above path.
	file *os.File
}

// openHandover opens the handed-over files in order, for fds 3, 4, ...,
// and starts draining the console when it is one of them. On error
// nothing stays open.
func (c Cmdline) openHandover() ([]*os.File, *consoleDrain, error) {
	var files []*os.File
	var console *consoleDrain
	fail := func(err error) ([]*os.File, *consoleDrain, error) {
		for _, f := range files {
			f.Close()
		}
		if console != nil {
			console.close()
		}
		return nil, nil, err
	}
	for _, h := range c.handover {
		var f *os.File
		var err error
		switch h {
		case handQMP:
			f, err = listenQMP(c.QMPSocket)
		case handConsole:
			f, console, err = openConsole(c.ConsoleLog, c.ConsoleLogMax)
		}
		if err != nil {
			return fail(err)
		}
		files = append(files, f)
	}
	return files, console, nil
}

// listenQMP binds the QMP socket and returns the listening socket as a
// file for QEMU: QEMU serves QMP on it without ever binding a path.
func listenQMP(path string) (*os.File, error) {
	// A socket file left by an earlier QEMU must not be taken for ours.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("removing stale QMP socket %q: %w", path, err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("binding the QMP socket: %w", err)
	}
	ln.SetUnlinkOnClose(false) // QEMU serves it from now on
	defer ln.Close()
	f, err := ln.File()
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("binding the QMP socket: %w", err)
	}
	return f, nil
}

// writePidFile writes QEMU's pid, atomically: a reader never sees a
// partial file. Kite writes it rather than QEMU (-pidfile), which would
// need to create a file in the VM directory.
func writePidFile(path string, pid int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing the pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the pid file: %w", err)
	}
	return nil
}

// vfioGroupNode is the device node of the IOMMU group of the function bdf,
// as sysfs links it (/sys/bus/pci/devices/<bdf>/iommu_group).
func vfioGroupNode(sysfs, bdf string) (string, error) {
	target, err := os.Readlink(filepath.Join(sysfs, "bus/pci/devices", bdf, "iommu_group"))
	if err != nil {
		return "", fmt.Errorf("reading the IOMMU group of %s: %w", bdf, err)
	}
	return filepath.Join("/dev/vfio", filepath.Base(target)), nil
}

// HandOverVFIO gives the device node of function bdf's IOMMU group to u,
// who can then open it: QEMU 7.2's vfio-pci opens /dev/vfio/<group> by
// itself and takes no fd. The node belongs to vfio-pci's binding: it goes
// when the group's last function leaves vfio-pci, so there is nothing to
// give back. sysfs is the sysfs mount ("/sys"). A nil u (root) needs
// nothing.
func HandOverVFIO(sysfs, bdf string, u *User) error {
	if u == nil {
		return nil
	}
	node, err := vfioGroupNode(sysfs, bdf)
	if err != nil {
		return err
	}
	if err := os.Chown(node, int(u.UID), int(u.GID)); err != nil {
		return fmt.Errorf("handing VFIO group %s of %s to QEMU's user %s: %w", node, bdf, u.Name, err)
	}
	return nil
}

// checkAccess refuses, before QEMU starts, a path QEMU would open by
// itself and u may not, naming it: QEMU's own error would come later and
// less clearly. The check runs as u on a thread of its own (fsuid, fsgid
// and groups are per thread), which is then retired.
func checkAccess(u *User, uses []pathUse) error {
	if u == nil || len(uses) == 0 {
		return nil
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		errc <- accessAs(u, uses)
	}()
	return <-errc
}

func accessAs(u *User, uses []pathUse) error {
	groups := make([]int, len(u.Groups))
	for i, g := range u.Groups {
		groups[i] = int(g)
	}
	// setgroups(2) here is the raw call, which changes this thread only.
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("checking QEMU's access as %s: %w", u.Name, err)
	}
	unix.Setfsgid(int(u.GID))
	unix.Setfsuid(int(u.UID)) // drops the file capabilities from this thread
	for _, p := range uses {
		mode := uint32(unix.R_OK)
		if p.write {
			mode |= unix.W_OK
		}
		path := p.path
		if p.file != nil {
			path = "/proc/self/fd/" + strconv.Itoa(int(p.file.Fd()))
		}
		if err := unix.Faccessat2(unix.AT_FDCWD, path, mode, unix.AT_EACCESS); err != nil {
			verb := "read"
			if p.write {
				verb = "read and write"
			}
			fix := "make it, and the directories above it, accessible to that user"
			if p.file != nil {
				fix = "make the file itself accessible to that user (chmod o+r, or setfacl -m u:" + u.Name + ":r)"
			}
			return fmt.Errorf("%w: QEMU runs as %s and cannot %s the %s %s (%v): %s, or set hypervisor.user = \"root\"",
				ErrInvalid, u, verb, p.what, p.path, err, fix)
		}
	}
	return nil
}

// CheckReadable reports whether u can read path (and the directories above
// it), as QEMU running as u would open it; nil for root.
func CheckReadable(u *User, what, path string) error {
	return checkAccess(u, []pathUse{{what: what, path: path}})
}
