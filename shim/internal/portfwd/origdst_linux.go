package portfwd

import (
	"encoding/binary"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// originalPort is the destination port a redirected connection was opened
// to (netfilter's SO_ORIGINAL_DST: a struct sockaddr_in).
func originalPort(c *net.TCPConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var port int
	var serr error
	err = raw.Control(func(fd uintptr) {
		// An IPv6 mreq is 20 bytes: room for the 16 of a sockaddr_in.
		mreq, e := unix.GetsockoptIPv6Mreq(int(fd), syscall.SOL_IP, unix.SO_ORIGINAL_DST)
		if e != nil {
			serr = e
			return
		}
		port = int(binary.BigEndian.Uint16(mreq.Multiaddr[2:4]))
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return 0, fmt.Errorf("reading the original destination: %w", err)
	}
	return port, nil
}
