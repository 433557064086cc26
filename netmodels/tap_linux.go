package netmodels

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// tapQueueFlags are the TUNSETIFF flags of a multiqueue tap queue in the
// form QEMU's `-netdev tap,fds=` wants. A single-queue tap made by someone
// else is joined without IFF_MULTI_QUEUE: the kernel refuses a mismatch.
const tapQueueFlags = unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_MULTI_QUEUE | unix.IFF_VNET_HDR

// OpenTap creates (or joins) the tap name in the calling thread's netns
// and returns one fd per queue, in the form the engine gives QEMU: for a
// tap of a benchmark's or test's own, which vanishes when its fds close.
func OpenTap(name string, queues int) ([]*os.File, error) {
	return openTapQueues(name, queues, tapQueueFlags)
}

// openTapQueues creates (or joins) the tap named name in the calling
// thread's netns and returns one fd per queue, opened with flags. A tap
// created here is not persistent: it vanishes when the last fd closes. Call
// it inside doInPodNetns: /dev/net/tun binds the device to the opener's
// netns.
func openTapQueues(name string, queues int, flags uint16) ([]*os.File, error) {
	files := make([]*os.File, 0, queues)
	for i := range queues {
		f, err := openTapQueue(name, flags)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("opening queue %d of tap %q: %w", i, name, err), closeFiles(files))
		}
		files = append(files, f)
	}
	return files, nil
}

func openTapQueue(name string, flags uint16) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF: %w", err)
	}
	// QEMU's virtio-net uses the 12-byte virtio_net_hdr_mrg_rxbuf; the
	// kernel default is 10. QEMU sets it again itself, so this mainly keeps
	// other readers of these fds (tests, tools) on the same framing.
	if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, vnetHdrLen); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETVNETHDRSZ: %w", err)
	}
	return os.NewFile(uintptr(fd), "tap:"+name), nil
}

// vnetHdrLen is the virtio-net header each frame on a tap fd carries.
const vnetHdrLen = 12

func closeFiles(files []*os.File) error {
	var errs []error
	for _, f := range files {
		if err := f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// disableIPv6 keeps the pod netns's own stack off a tap that only carries
// the guest's frames: otherwise it gives the tap a link-local address and
// sends DAD and router solicitations into the guest. It must run in the
// tap's netns, before the tap goes up. A kernel without IPv6 has nothing to
// disable.
func disableIPv6(ifname string) error {
	path := "/proc/sys/net/ipv6/conf/" + ifname + "/disable_ipv6"
	err := os.WriteFile(path, []byte("1"), 0o644)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("disabling IPv6 on %q: %w", ifname, err)
	}
	return nil
}
