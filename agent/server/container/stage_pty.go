package container

import (
	"golang.org/x/sys/unix"
)

// openPty allocates a pty in the container's own devpts instance (through
// its /dev/ptmx, after the root has changed), so that the process's
// terminal is /dev/pts/N inside the container. It returns the master, to
// send to the agent, and the slave, opened with TIOCGPTPEER: no path
// lookup that the container's tree could redirect.
func openPty(size *WinSize) (master, slave int, err error) {
	master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, stageErr("opening the container's /dev/ptmx", err)
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(master)
		return -1, -1, stageErr("unlocking pty", err)
	}
	if size != nil {
		ws := &unix.Winsize{Row: size.Rows, Col: size.Cols}
		if err := unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, ws); err != nil {
			unix.Close(master)
			return -1, -1, stageErr("setting terminal size", err)
		}
	}
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		unix.Close(master)
		return -1, -1, stageErr("opening pty slave", errno)
	}
	return master, int(fd), nil
}
