package initsys

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// IsInit reports whether the agent is PID 1 of its pid namespace, i.e. the
// guest's init; outside a guest (tests) the machine-wide steps are skipped.
func IsInit() bool { return os.Getpid() == 1 }

// AttachConsole opens the console device (normally /dev/console) and makes
// it stdin, stdout and stderr: the kernel gives init no stdio when the
// initramfs lacks a /dev/console node, and Go's panics go to fd 2.
func AttachConsole(path string) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening console %s: %w", path, err)
	}
	defer unix.Close(fd)
	for target := 0; target <= 2; target++ {
		if err := unix.Dup3(fd, target, 0); err != nil {
			return fmt.Errorf("attaching console to fd %d: %w", target, err)
		}
	}
	return nil
}

// IgnoreSignals makes the process ignore the terminal and termination
// signals. PID 1 gets no default action for signals anyway, but the Go
// runtime installs handlers that would exit the process on them.
func IgnoreSignals() {
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
		syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGPIPE,
		syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU)
}

// DevSymlinks creates the conventional /dev/fd, stdin, stdout and stderr
// links under dev, which devtmpfs does not provide (udev normally does).
func DevSymlinks(dev string) error {
	links := map[string]string{
		"fd":     "/proc/self/fd",
		"stdin":  "/proc/self/fd/0",
		"stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2",
	}
	for name, target := range links {
		err := os.Symlink(target, filepath.Join(dev, name))
		if err != nil && !os.IsExist(err) {
			return fmt.Errorf("creating %s/%s: %w", dev, name, err)
		}
	}
	return nil
}
