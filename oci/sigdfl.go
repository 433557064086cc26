package oci

import (
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSigaction is the kernel's struct sigaction on amd64 and arm64:
// handler, flags, restorer, mask.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// setDefaultAction sets sig's action to SIG_DFL and unblocks it on the
// calling thread, which it locks, so that the signal the caller sends
// itself next acts as the kernel's default: Go's handler would catch it.
func setDefaultAction(sig syscall.Signal) {
	runtime.LockOSThread()
	sa := kernelSigaction{} // handler 0: SIG_DFL
	unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, unsafe.Sizeof(sa.mask), 0, 0)
	var set unix.Sigset_t
	set.Val[(sig-1)/64] = 1 << ((uint(sig) - 1) % 64)
	unix.PthreadSigmask(unix.SIG_UNBLOCK, &set, nil)
}
