package netmodels

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/internal/nldump"
	"github.com/vishvananda/netlink"
)

// VhostUserEndpoint is a pod interface whose traffic a vhost-user backend
// (VPP, OVS-DPDK, testpmd) serves on SocketPath. The link in the pod netns is
// only a placeholder carrying the interface's MAC, MTU and addresses: Kite
// changes nothing there, QEMU connects to the socket, and the guest NIC takes
// the placeholder's configuration.
type VhostUserEndpoint struct {
	NetnsPath  string
	Name       string
	MAC        net.HardwareAddr // give it to the guest NIC (and QEMU's mac=)
	MTU        int
	Addrs      []netip.Prefix
	SocketPath string // the backend listens, QEMU connects
	// Queues is the number of queue pairs QEMU asks the backend for
	// (`-netdev vhost-user,queues=N`); the backend must offer as many.
	Queues int
}

// NeedsSharedMemory is always true: the backend maps the guest's RAM, so
// the VM must run on shared memfd memory (qemu.Memory.Shared) from boot,
// also when the NIC is hot-plugged later.
func (e *VhostUserEndpoint) NeedsSharedMemory() bool { return true }

// Detach does nothing: attaching changed nothing on the host. It exists so
// that every endpoint tears down the same way.
func (e *VhostUserEndpoint) Detach() error { return nil }

// AttachVhostUser reads the placeholder ifname of the netns at netnsPath
// and checks that socketPath is a unix socket.
func AttachVhostUser(netnsPath, ifname, socketPath string, queues int) (*VhostUserEndpoint, error) {
	if err := checkQueues(queues); err != nil {
		return nil, fmt.Errorf("attaching vhost-user %q: %w", ifname, err)
	}
	if err := checkSocket(socketPath); err != nil {
		return nil, fmt.Errorf("attaching vhost-user %q: %w", ifname, err)
	}
	h, err := podHandle(netnsPath)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	l, err := h.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("attaching vhost-user %q in netns %q: %w: %w", ifname, netnsPath, ErrNoInterface, err)
	}
	addrs, err := nldump.Retry(func() ([]netlink.Addr, error) { return h.AddrList(l, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("listing addresses of %q in netns %q: %w", ifname, netnsPath, err)
	}
	a := l.Attrs()
	return &VhostUserEndpoint{
		NetnsPath: netnsPath, Name: a.Name,
		MAC: append(net.HardwareAddr(nil), a.HardwareAddr...), MTU: a.MTU,
		Addrs: toPrefixes(addrs), SocketPath: socketPath, Queues: queues,
	}, nil
}

// checkSocket accepts only an existing unix socket: QEMU would otherwise
// fail at start with a less helpful message, or block on a FIFO.
func checkSocket(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s does not exist", ErrNotSocket, path)
	}
	if err != nil {
		return fmt.Errorf("checking vhost-user socket %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%w: %s is a %s", ErrNotSocket, path, fileType(fi.Mode()))
	}
	return nil
}

func fileType(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "regular file"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return m.Type().String()
}

// VhostUserSocket returns the socket the configured pattern names for one
// of l's addresses, if a file exists there. Like Kata (whose default pattern
// is /tmp/vhostuser_<ip>/vhu.sock, the path the VPP and OVS-DPDK CNI plugins
// create), any existing file marks the link: whether it is a socket is
// checked at attach, so that a wrong file is an error rather than a silent
// fallback to another model.
func VhostUserSocket(l Link, cfg configs.Network) (string, bool) {
	if l.Kind == KindLoopback || cfg.VhostUserSocketPattern == "" {
		return "", false
	}
	for _, p := range l.Addrs {
		path := cfg.VhostUserSocket(p.Addr().String())
		if _, err := os.Lstat(path); err == nil {
			return path, true
		}
	}
	return "", false
}
