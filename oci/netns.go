package oci

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// NetnsName is the network namespace Kite makes for a container, bound
// in its sandbox directory.
const NetnsName = "netns"

// NewNetns makes a new, empty network namespace and binds it at path (a
// file it creates), as `ip netns add` does: for a container whose spec
// asks for a network namespace of its own and has hooks to configure it
// (Docker's prestart hook moves the container's veth into the init's
// netns). The init proxy joins it, the engine carries what the hooks put
// in it into the VM, RemoveNetns takes it away.
func NewNetns(path string) (err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err != nil {
		return fmt.Errorf("creating the network namespace file: %w", err)
	}
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	// unshare moves only this thread: it is locked until it is back in the
	// host's netns, and left to die with its goroutine if it cannot be.
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("opening this thread's network namespace: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("creating a network namespace: %w", err)
	}
	err = unix.Mount("/proc/thread-self/ns/net", path, "", unix.MS_BIND, "")
	if serr := unix.Setns(orig, unix.CLONE_NEWNET); serr != nil {
		return errors.Join(err, fmt.Errorf("returning to the host's network namespace: %w", serr))
	}
	runtime.UnlockOSThread()
	if err != nil {
		return fmt.Errorf("binding the network namespace at %s: %w", path, err)
	}
	return nil
}

// RemoveNetns unbinds and removes a namespace NewNetns made; a path that
// is not there, or not bound, is fine.
func RemoveNetns(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unbinding the network namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the network namespace %s: %w", path, err)
	}
	return nil
}
