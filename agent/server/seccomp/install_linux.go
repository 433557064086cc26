package seccomp

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Install loads f into the calling thread (every thread of the process
// with SECCOMP_FILTER_FLAG_TSYNC). The caller must hold CAP_SYS_ADMIN or
// have set no_new_privs, and must run on a locked OS thread: the filter
// belongs to the thread, and execve keeps the caller's.
func Install(f Filter) error {
	if len(f.Program) == 0 || len(f.Program) > MaxInstructions {
		return fmt.Errorf("%w: a filter of %d instructions", ErrInvalid, len(f.Program))
	}
	prog := unix.SockFprog{Len: uint16(len(f.Program)), Filter: &f.Program[0]}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(f.Flags), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(f.Program)
	if errno != 0 {
		if errors.Is(errno, unix.EINVAL) {
			return fmt.Errorf("installing the seccomp filter (flags %#x): %w (does the kernel have CONFIG_SECCOMP_FILTER and these flags?)", f.Flags, errno)
		}
		return fmt.Errorf("installing the seccomp filter: %w", errno)
	}
	if f.Flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 && r != 0 {
		return fmt.Errorf("installing the seccomp filter: thread %d could not be synchronized", r)
	}
	return nil
}
