package transport

import (
	"fmt"
	"net"

	"github.com/mdlayher/vsock"
)

// ListenVsock listens on vsock port for the host (any CID may connect; in
// a guest only the host can). Each host connection is an independent
// net.Conn, so a host that disconnects just ends its own connection.
func ListenVsock(port uint32) (net.Listener, error) {
	l, err := vsock.Listen(port, nil)
	if err != nil {
		return nil, fmt.Errorf("listening on vsock port %d (is vmw_vsock_virtio_transport loaded?): %w", port, err)
	}
	return l, nil
}
