package server

import (
	"log/slog"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/container"
	"github.com/kite-vm/kite/agent/server/devices"
	"github.com/kite-vm/kite/agent/server/reaper"
	"github.com/vishvananda/netlink"
)

// Config holds the guest paths the service works under. Tests point them
// into temp dirs.
type Config struct {
	Sysfs      string // /sys
	Proc       string // /proc
	Dev        string // /dev
	CgroupRoot string // /sys/fs/cgroup; containers get <CgroupRoot>/kite/<id>
	// StorageRoot holds every storage mount point: <StorageRoot>/<id> by
	// default, or a host-chosen path below it.
	StorageRoot string // /run/kite/storage
	// ModulesDir holds the .ko files loadable by name.
	ModulesDir string // /lib/modules/<release>
	ResolvConf string // /etc/resolv.conf
	// DeviceTimeout is the default wait for a device or storage backend.
	DeviceTimeout time.Duration
	// RemoveTimeout is the default wait for a container's processes to die.
	RemoveTimeout time.Duration
	Container     container.Options
}

// DefaultConfig returns the guest's real paths for kernel release.
func DefaultConfig(release string) Config {
	return Config{
		Sysfs:         "/sys",
		Proc:          "/proc",
		Dev:           "/dev",
		CgroupRoot:    "/sys/fs/cgroup",
		StorageRoot:   protocol.StorageRoot,
		ModulesDir:    filepath.Join("/lib/modules", release),
		ResolvConf:    "/etc/resolv.conf",
		DeviceTimeout: 10 * time.Second, // hot plug under TCG can take a second or more
		RemoveTimeout: 5 * time.Second,
	}
}

// Runtime holds the long-lived objects the service shares with the rest of
// the agent.
type Runtime struct {
	// Reaper collects every child's exit; it must be running.
	Reaper *reaper.Reaper
	// Watcher wakes device waits on kernel uevents.
	Watcher *devices.Watcher
	// Netlink is the handle of the guest's network namespace.
	Netlink *netlink.Handle
	// Log receives the service's own notes (not per-request errors, which
	// go back to the host).
	Log *slog.Logger
}
