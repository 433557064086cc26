package netmodels

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/kite-vm/kite/internal/cleanup"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// mvtQueueFlags are the TUNSETIFF flags of each queue file: what QEMU's tap
// backend expects of fds it is handed. On a macvtap every open of the device
// node is a new queue whatever the flags; IFF_MULTI_QUEUE only documents it.
const mvtQueueFlags = unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR | unix.IFF_MULTI_QUEUE

// mvtReadDevNumber returns the char device number of the macvtap name
// (ifindex index) in the netns ns.
//
// The minor is not the ifindex: the kernel allocates it from one global idr
// (measured: ifindex 4 -> 246:1), and /dev/tapN is named after the ifindex, so
// two netns collide there. sysfs shows the netns of whoever mounted it, so the
// number is read through a sysfs mounted in ns, on a thread that first moves
// to a private mount namespace; the thread is thrown away afterwards (the
// goroutine ends locked), so neither namespace change leaks. The runtime
// cannot throw away the main thread, though: it parks it for good instead.
// So the thread also goes back to its namespaces before the goroutine ends,
// or a parked main thread would pin the pod's netns (and the private mount
// namespace with its sysfs) for the life of the process.
func mvtReadDevNumber(ns netns.NsHandle, name string, index int) (uint64, error) {
	type result struct {
		dev uint64
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		dev, err := mvtReadDevNumberLocked(ns, name, index)
		ch <- result{dev, err}
	}()
	r := <-ch
	return r.dev, r.err
}

func mvtReadDevNumberLocked(ns netns.NsHandle, name string, index int) (dev uint64, err error) {
	back, err := threadNamespaces()
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, back()) }()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return 0, fmt.Errorf("unsharing mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return 0, fmt.Errorf("making mounts private: %w", err)
	}
	if err := netns.Set(ns); err != nil {
		return 0, fmt.Errorf("entering netns: %w", err)
	}
	if err := unix.Mount("sysfs", "/sys", "sysfs", unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_NODEV, ""); err != nil {
		return 0, fmt.Errorf("mounting sysfs of the netns: %w", err)
	}
	p := filepath.Join("/sys/class/net", name, "macvtap", fmt.Sprintf("tap%d", index), "dev")
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("reading macvtap device number: %w", err)
	}
	var major, minor uint32
	if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "%d:%d", &major, &minor); err != nil {
		return 0, fmt.Errorf("parsing %s %q: %w", p, b, err)
	}
	return unix.Mkdev(major, minor), nil
}

// threadNamespaces opens the calling thread's mount and network namespaces
// and returns the function that puts the thread back into them (and closes
// them). The thread must be locked.
func threadNamespaces() (back func() error, err error) {
	mnt, err := os.Open("/proc/thread-self/ns/mnt")
	if err != nil {
		return nil, fmt.Errorf("opening the thread's mount namespace: %w", err)
	}
	net, err := netns.Get()
	if err != nil {
		mnt.Close()
		return nil, fmt.Errorf("opening the thread's netns: %w", err)
	}
	return func() error {
		defer mnt.Close()
		defer net.Close()
		var errs []error
		if err := netns.Set(net); err != nil {
			errs = append(errs, fmt.Errorf("returning to the original netns: %w", err))
		}
		if err := unix.Setns(int(mnt.Fd()), unix.CLONE_NEWNS); err != nil {
			errs = append(errs, fmt.Errorf("returning to the original mount namespace: %w", err))
		}
		return errors.Join(errs...)
	}, nil
}

// mvtOpenQueues opens the macvtap char device dev n times through a node in
// a private 0700 directory, removed before returning: the files keep the
// device open and nothing in /dev can be confused with another netns's tapN.
func mvtOpenQueues(dev uint64, n int, cu *cleanup.Stack) ([]*os.File, error) {
	dir, err := os.MkdirTemp("", "kite-mvt-")
	if err != nil {
		return nil, fmt.Errorf("making device node dir: %w", err)
	}
	node := filepath.Join(dir, "tap")
	// Plain unlink and rmdir: they need no descriptor, so the cleanup works
	// even when opening the queues failed for lack of descriptors (EMFILE),
	// where os.RemoveAll, which opens the directory to list it, would not.
	defer func() {
		os.Remove(node)
		os.Remove(dir)
	}()
	if err := unix.Mknod(node, unix.S_IFCHR|0o600, int(dev)); err != nil {
		return nil, fmt.Errorf("mknod %s (%d:%d): %w", node, unix.Major(dev), unix.Minor(dev), err)
	}
	files := make([]*os.File, 0, n)
	for i := range n {
		f, err := mvtOpenQueue(node, i)
		if err != nil {
			return nil, err
		}
		cu.Add(fmt.Sprintf("close macvtap queue %d", i), f.Close)
		files = append(files, f)
	}
	return files, nil
}

// mvtOpenQueue opens one queue. The fd is blocking and not in Go's poller:
// it is meant for QEMU, which sets its own modes.
func mvtOpenQueue(node string, i int) (*os.File, error) {
	fd, err := unix.Open(node, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening queue %d: %w", i, err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("macvtap-queue-%d", i))
	ifr, err := unix.NewIfreq("")
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("queue %d: %w", i, err)
	}
	ifr.SetUint16(mvtQueueFlags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		f.Close()
		return nil, fmt.Errorf("setting flags of queue %d: %w", i, err)
	}
	return f, nil
}
