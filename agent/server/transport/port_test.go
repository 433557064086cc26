package transport

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/kite-vm/kite/internal/testing/sysfstest"
)

func TestFindPort(t *testing.T) {
	sysfs := t.TempDir()
	sysfstest.File(t, sysfs, "class/virtio-ports/vport0p0/name", "org.qemu.guest_agent.0\n")
	sysfstest.File(t, sysfs, "class/virtio-ports/vport1p1/name", "agent0\n")
	sysfstest.Dir(t, sysfs, "class/virtio-ports/vport1p2") // no name attribute

	got, err := FindPort(sysfs, "/dev", "agent0")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/dev", "vport1p1"); got != want {
		t.Errorf("FindPort = %s, want %s", got, want)
	}
	if _, err := FindPort(sysfs, "/dev", "agent1"); !errors.Is(err, ErrPortNotFound) {
		t.Errorf("FindPort(agent1) error = %v, want ErrPortNotFound", err)
	}
	if _, err := FindPort(t.TempDir(), "/dev", "agent0"); !errors.Is(err, ErrPortNotFound) {
		t.Errorf("FindPort without virtio-ports error = %v, want ErrPortNotFound", err)
	}
}
