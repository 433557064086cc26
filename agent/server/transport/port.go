package transport

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrPortNotFound is wrapped when no virtio-serial port has the wanted name.
var ErrPortNotFound = errors.New("virtio-serial port not found")

// FindPort returns the device node of the virtio-serial port called name:
// the guest has no udev to make /dev/virtio-ports/<name>, so the port is
// found through <sysfs>/class/virtio-ports/vportNpM/name and its node is
// <dev>/vportNpM.
func FindPort(sysfs, dev, name string) (string, error) {
	dirs, err := filepath.Glob(filepath.Join(sysfs, "class", "virtio-ports", "*"))
	if err != nil {
		return "", err
	}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "name"))
		if err != nil {
			continue // a port without a name attribute is not ours
		}
		if strings.TrimSpace(string(b)) == name {
			return filepath.Join(dev, filepath.Base(d)), nil
		}
	}
	return "", fmt.Errorf("%w: no port named %q in %s", ErrPortNotFound, name, filepath.Join(sysfs, "class", "virtio-ports"))
}
