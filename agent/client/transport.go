package client

import (
	"errors"
	"fmt"
	"os"
)

// Transport is how the host reaches the agent.
type Transport string

// Transports, spelled as in the agent.transport setting.
const (
	TransportVsock  Transport = "vsock"
	TransportSerial Transport = "virtio-serial"
)

// TransportAuto is the agent.transport setting that picks vsock when the
// host can do it.
const TransportAuto = "auto"

// DefaultVhostVsockPath is the device vhost-vsock needs on the host.
const DefaultVhostVsockPath = "/dev/vhost-vsock"

var (
	// ErrUnknownTransport: the setting names no transport.
	ErrUnknownTransport = errors.New("unknown agent transport")
	// ErrNoVsock: vsock was asked for but the host cannot provide it.
	ErrNoVsock = errors.New("host has no usable vhost-vsock")
)

// ChooseTransport resolves the agent.transport setting ("auto" or empty,
// "vsock", "virtio-serial"). auto means vsock when vhostVsockPath opens
// read-write, virtio-serial otherwise; an explicit "vsock" on a host where
// it does not open is an error, found here rather than as a QEMU failure.
func ChooseTransport(setting, vhostVsockPath string) (Transport, error) {
	switch setting {
	case TransportAuto, "":
		if vhostVsockUsable(vhostVsockPath) == nil {
			return TransportVsock, nil
		}
		return TransportSerial, nil
	case string(TransportVsock):
		if err := vhostVsockUsable(vhostVsockPath); err != nil {
			return "", fmt.Errorf("agent transport vsock: %w: %v (try: modprobe vhost_vsock, or transport = \"auto\")", ErrNoVsock, err)
		}
		return TransportVsock, nil
	case string(TransportSerial):
		return TransportSerial, nil
	}
	return "", fmt.Errorf("agent transport %q: %w (want auto, vsock or virtio-serial)", setting, ErrUnknownTransport)
}

func vhostVsockUsable(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}
