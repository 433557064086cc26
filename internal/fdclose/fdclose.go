// Package fdclose keeps this process's descriptors out of the helper
// processes it starts (QEMU, virtiofsd): exec.Cmd passes stdio and
// ExtraFiles, but any other descriptor without close-on-exec, such as one
// the process that started us left open, would be inherited too.
package fdclose

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// OnExec sets close-on-exec on every descriptor above stderr that lacks
// it. Go opens its own descriptors with it, so what it finds was inherited
// (or opened by a raw system call); exec.Cmd still passes ExtraFiles,
// which it duplicates into the child. Call it right before starting a
// child.
func OnExec() error {
	dir, err := os.Open("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("listing open descriptors: %w", err)
	}
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("listing open descriptors: %w", err)
	}
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd <= 2 || fd == int(dir.Fd()) {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue // closed meanwhile, or already close-on-exec
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC); err != nil && err != unix.EBADF {
			return fmt.Errorf("setting close-on-exec on descriptor %d: %w", fd, err)
		}
	}
	return nil
}
