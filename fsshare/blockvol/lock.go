package blockvol

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Lock is a sandbox's exclusive hold on a volume's source, kept for as long
// as the sandbox uses the volume.
type Lock struct {
	f *os.File
}

// Acquire takes the hold: an exclusive flock(2) on the source, which every
// Kite process takes the same way, so a second sandbox (in this process or
// another) fails at once instead of booting a VM that would corrupt the
// file system with the first one's. A block device is also opened with
// O_EXCL, which the kernel refuses while the host has it mounted or claimed
// (and which keeps the host from mounting it meanwhile). The hold dies with
// the process, so a crashed runtime leaves no stale lock.
func Acquire(v Volume) (*Lock, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC
	if v.Kind == Device {
		flags |= unix.O_EXCL
	}
	f, err := os.OpenFile(v.Source, flags, 0)
	if errors.Is(err, unix.EBUSY) {
		return nil, fmt.Errorf("%w: block device %q is mounted or claimed on the host (or by another sandbox): refusing to attach it to the VM", ErrInUse, v.Source)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s %q: %w", v.Kind, v.Source, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s %q is in use by another sandbox: a disk can be attached to one VM at a time", ErrInUse, v.Kind, v.Source)
		}
		return nil, fmt.Errorf("locking %s %q: %w", v.Kind, v.Source, err)
	}
	return &Lock{f: f}, nil
}

// Release drops the hold. It is idempotent.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last fd drops the flock and the O_EXCL claim
	l.f = nil
	return err
}
