package restore

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid restore request")

// Seed sizes Reseed takes: at least the 256 bits the kernel's RNG is
// keyed with, at most the kernel's limit on one RNDADDENTROPY.
const (
	MinSeed = 32
	MaxSeed = 512
)

// The ioctls of random(4) (linux/random.h).
const (
	rndAddEntropy  = 0x40085203 // _IOW('R', 0x03, int[2])
	rndReseedCRNG  = 0x5207     // _IO('R', 0x07)
	entropyHdrSize = 8          // struct rand_pool_info: entropy_count, buf_size
)

// Validate checks a seed and a time before anything is changed.
func Validate(seed []byte, t time.Time) error {
	if err := checkSeed(seed); err != nil {
		return err
	}
	return checkClock(t)
}

func checkSeed(seed []byte) error {
	if len(seed) < MinSeed || len(seed) > MaxSeed {
		return fmt.Errorf("%w: a seed of %d bytes: want %d to %d", ErrInvalid, len(seed), MinSeed, MaxSeed)
	}
	return nil
}

// Reseed mixes seed into the kernel's entropy pool through the random
// device at path (/dev/urandom), crediting it in full, then makes the
// kernel's RNG reseed at once, so that what it gives from now on depends
// on seed. Both need CAP_SYS_ADMIN.
func Reseed(path string, seed []byte) error {
	if err := checkSeed(seed); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("opening the random device: %w", err)
	}
	defer f.Close()
	// struct rand_pool_info { int entropy_count; int buf_size; __u32 buf[]; }
	info := make([]byte, entropyHdrSize+len(seed))
	*(*int32)(unsafe.Pointer(&info[0])) = int32(8 * len(seed))
	*(*int32)(unsafe.Pointer(&info[4])) = int32(len(seed))
	copy(info[entropyHdrSize:], seed)
	if err := ioctl(f, rndAddEntropy, uintptr(unsafe.Pointer(&info[0]))); err != nil {
		return fmt.Errorf("adding the seed to the kernel's entropy pool (RNDADDENTROPY): %w", err)
	}
	if err := ioctl(f, rndReseedCRNG, 0); err != nil {
		return fmt.Errorf("reseeding the kernel's RNG (RNDRESEEDCRNG): %w", err)
	}
	return nil
}

func ioctl(f *os.File, req, arg uintptr) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno unix.Errno
	if cerr := rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, req, arg)
	}); cerr != nil {
		return cerr
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// earliest is the earliest clock SetClock accepts: a host clock before it
// is broken, and the guest's would be too.
var earliest = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// SetClock sets the guest's clock (CLOCK_REALTIME) to t.
func SetClock(t time.Time) error {
	if err := checkClock(t); err != nil {
		return err
	}
	ts := unix.NsecToTimespec(t.UnixNano())
	if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return fmt.Errorf("setting the clock: %w", err)
	}
	return nil
}

func checkClock(t time.Time) error {
	if t.Before(earliest) {
		return fmt.Errorf("%w: time %s is before %s", ErrInvalid, t.UTC().Format(time.RFC3339), earliest.Format(time.DateOnly))
	}
	return nil
}
