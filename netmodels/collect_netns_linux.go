package netmodels

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// openPodNetns opens a netns path, mapping a missing path to ErrNoNetns.
func openPodNetns(path string) (netns.NsHandle, error) {
	h, err := netns.GetFromPath(path)
	if errors.Is(err, fs.ErrNotExist) {
		return netns.None(), fmt.Errorf("opening netns %q: %w", path, ErrNoNetns)
	}
	if err != nil {
		return netns.None(), fmt.Errorf("opening netns %q: %w", path, err)
	}
	return h, nil
}

// podNetlink opens the netns at path and a netlink handle (route family
// only) in it; the caller closes both.
func podNetlink(path string) (netns.NsHandle, *netlink.Handle, error) {
	ns, err := openPodNetns(path)
	if err != nil {
		return netns.None(), nil, err
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return netns.None(), nil, fmt.Errorf("opening netlink in netns %q: %w", path, err)
	}
	return ns, h, nil
}

// podHandle opens a netlink handle (route family only) in the netns at
// path; the caller closes it.
func podHandle(path string) (*netlink.Handle, error) {
	ns, h, err := podNetlink(path)
	if err != nil {
		return nil, err
	}
	ns.Close()
	return h, nil
}

// doInPodNetns runs fn on a locked OS thread switched into the netns target.
// Sockets and tun fds opened by fn belong to that netns (the kernel binds them
// at creation time) and stay usable after the thread switches back. If the
// thread cannot switch back it stays locked, so the Go runtime retires it
// instead of reusing a thread in the wrong netns.
func doInPodNetns(target netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("reading current netns: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("entering netns: %w", err)
	}
	fnErr := fn()
	if err := netns.Set(orig); err != nil {
		return errors.Join(fnErr, fmt.Errorf("returning to the original netns: %w", err))
	}
	runtime.UnlockOSThread()
	return fnErr
}
