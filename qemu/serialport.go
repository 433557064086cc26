package qemu

import "os"

const serialPortKind = "serial-port"

// SerialPort is a virtio-serial port on its own virtio-serial-pci controller,
// connected to a unix socket the host listens on (QEMU connects at start, so
// the host must listen first; nothing the guest writes early is lost). It is
// the agent transport where vsock is missing. The guest finds it by Name in
// /sys/class/virtio-ports/*/name.
type SerialPort struct {
	ID         string
	Bus        string // of the controller
	SocketPath string
	Name       string
	// Reconnect (seconds) makes QEMU reconnect to SocketPath after the host
	// side closed it, so a restarted host process can reach the agent again.
	Reconnect int
	// Conn, when set, is a socket already connected to SocketPath, passed
	// to QEMU in its stead (an unprivileged QEMU cannot reach the path);
	// it cannot reconnect.
	Conn *os.File
}

// Validate checks the spec alone.
func (s SerialPort) Validate() error {
	if err := firstErr(checkID(serialPortKind, s.ID), checkPath(serialPortKind, s.ID, "SocketPath", s.SocketPath)); err != nil {
		return err
	}
	if s.Name == "" {
		return invalid(serialPortKind, s.ID, "Name", "must not be empty")
	}
	if s.Reconnect < 0 {
		return invalid(serialPortKind, s.ID, "Reconnect", "%d is negative", s.Reconnect)
	}
	if s.Conn != nil && s.Reconnect > 0 {
		return invalid(serialPortKind, s.ID, "Reconnect", "needs SocketPath: a passed Conn cannot reconnect")
	}
	return nil
}

// Parts returns the client socket chardev, the controller "<ID>-serial" and
// the port "<ID>" on the controller's bus.
func (s SerialPort) Parts(fds FDs) Parts {
	ctrl := s.ID + "-serial"
	return Parts{
		Chardevs: []Chardev{clientSocket(s.ID, s.SocketPath, s.Conn, fds, s.Reconnect)},
		Devices: []DeviceProps{
			{Driver: "virtio-serial-pci", ID: ctrl, Bus: s.Bus},
			{Driver: "virtserialport", ID: s.ID, Bus: ctrl + ".0", Props: []Prop{
				Str("chardev", s.ID), Str("name", s.Name),
			}},
		},
	}
}
