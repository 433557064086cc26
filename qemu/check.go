package qemu

import (
	"net"
	"path/filepath"
)

// maxQueues is QEMU's limit on virtio-net queue pairs (VIRTIO_QUEUE_MAX/2).
const maxQueues = 256

// checkID enforces QEMU's id_wellformed (a letter, then letters, digits,
// '-', '.', '_'), so an id can never smuggle a comma or '=' into the
// command line.
func checkID(kind, id string) error {
	if id == "" {
		return invalid(kind, id, "ID", "must not be empty")
	}
	for i, r := range id {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		ok := letter || i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_')
		if !ok {
			return invalid(kind, id, "ID", "must start with a letter and hold only letters, digits, '-', '.', '_'")
		}
	}
	if len(id) > 128 {
		return invalid(kind, id, "ID", "longer than 128 bytes")
	}
	return nil
}

// checkPath demands an absolute host path: QEMU's working directory is not
// the caller's business.
func checkPath(kind, id, field, path string) error {
	if path == "" {
		return invalid(kind, id, field, "must not be empty")
	}
	if !filepath.IsAbs(path) {
		return invalid(kind, id, field, "%q is not an absolute path", path)
	}
	return nil
}

// checkMAC accepts an empty MAC (QEMU picks one) or a unicast EUI-48.
func checkMAC(kind, id, mac string) error {
	if mac == "" {
		return nil
	}
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return invalid(kind, id, "MAC", "%q is not an EUI-48 address", mac)
	}
	if hw[0]&1 != 0 {
		return invalid(kind, id, "MAC", "%q is a multicast address", mac)
	}
	return nil
}

// checkQueues bounds a queue count; 0 means one queue.
func checkQueues(kind, id string, n int) error {
	if n < 0 || n > maxQueues {
		return invalid(kind, id, "Queues", "%d is outside 0..%d", n, maxQueues)
	}
	return nil
}

// firstErr returns the first non-nil error, so Validate methods read as a
// list of rules.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
