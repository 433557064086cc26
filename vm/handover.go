package vm

import (
	"fmt"
	"net"
	"os"

	"github.com/kite-vm/kite/qemu"
	"golang.org/x/sys/unix"
)

// sysfsRoot is where HandOverVFIO finds a function's IOMMU group.
const sysfsRoot = "/sys"

// handOver readies a device for QEMU's user u (nil: root): a socket in the
// VM directory that QEMU would connect to (the agent's port, a virtiofsd)
// is connected here and passed as an fd, since an unprivileged QEMU
// cannot reach the directory; an NVDIMM image is passed open; a
// passed-through function's VFIO group is given to u. It returns the
// device to plug and the file to close once QEMU holds its copy (nil when
// there is none). Root gets the same files: one command line whoever runs
// it.
func handOver(d qemu.Device, u *qemu.User) (qemu.Device, *os.File, error) {
	switch dev := d.(type) {
	case qemu.SerialPort:
		if dev.Conn != nil || dev.Reconnect > 0 {
			return d, nil, nil // a reconnecting port needs its path
		}
		f, err := dialFile(dev.SocketPath)
		dev.Conn = f
		return dev, f, err
	case qemu.VirtioFS:
		if dev.Conn != nil {
			return d, nil, nil
		}
		f, err := dialFile(dev.SocketPath)
		dev.Conn = f
		return dev, f, err
	case qemu.NVDIMM:
		// The image's directories may be closed to QEMU's user: QEMU
		// reopens the open file through /proc/self/fd instead.
		if dev.File != nil {
			return d, nil, nil
		}
		flags := os.O_RDWR
		if dev.ReadOnly {
			flags = os.O_RDONLY
		}
		f, err := os.OpenFile(dev.Path, flags|unix.O_CLOEXEC, 0)
		if err != nil {
			return d, nil, fmt.Errorf("opening NVDIMM image %s for QEMU: %w", dev.Path, err)
		}
		dev.File = f
		return dev, f, nil
	case qemu.VFIO:
		return d, nil, qemu.HandOverVFIO(sysfsRoot, dev.Host, u)
	}
	return d, nil, nil
}

// handOverAll hands over every device, in order; on error the
// connections made are closed.
func handOverAll(devs []qemu.Device, u *qemu.User) ([]qemu.Device, []*os.File, error) {
	out := make([]qemu.Device, 0, len(devs))
	var conns []*os.File
	for _, d := range devs {
		h, conn, err := handOver(d, u)
		if err != nil {
			closeFiles(conns)
			return nil, nil, err
		}
		out = append(out, h)
		if conn != nil {
			conns = append(conns, conn)
		}
	}
	return out, conns, nil
}

// dialFile connects to the unix socket at path and returns the connection
// as a file for QEMU.
func dialFile(path string) (*os.File, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("connecting to %s for QEMU: %w", path, err)
	}
	defer c.Close() // the file is a copy
	f, err := c.File()
	if err != nil {
		return nil, fmt.Errorf("connecting to %s for QEMU: %w", path, err)
	}
	return f, nil
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
