package spec

import (
	"fmt"
	"path"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// guestNode is a device node every Kite guest has, found by its numbers.
type guestNode struct {
	major, minor int64
	path         string
	// onTmpfsDev: the agent binds it into a tmpfs /dev by itself, so
	// asking again would collide with its bind mount.
	onTmpfsDev bool
}

// guestNodes are the character devices the guest's /dev has at a fixed
// path: a container asking for one gets a node like the guest's. Any
// other linux.devices node is made by its numbers (byNumber).
var guestNodes = []guestNode{
	{1, 3, "/dev/null", true},
	{1, 5, "/dev/zero", true},
	{1, 7, "/dev/full", true},
	{1, 8, "/dev/random", true},
	{1, 9, "/dev/urandom", true},
	{5, 0, "/dev/tty", true},
	{5, 2, "/dev/ptmx", true}, // a link to the container's devpts ptmx
	{10, 200, "/dev/net/tun", false},
	{10, 229, "/dev/fuse", false},
}

// devices converts linux.devices into guest nodes made visible in the
// container.
func (c *converter) devices(ds []specs.LinuxDevice, tmpfsDev bool) []Device {
	var out []Device
	for i, d := range ds {
		field := fmt.Sprintf("linux.devices[%d]", i)
		if !filepath.IsAbs(d.Path) {
			c.fail(invalid(field, "path %q is not absolute", d.Path))
			continue
		}
		if isVFIONode(d.Path) {
			continue // a host function to pass through: see vfioNodes
		}
		cd := Device{ContainerPath: filepath.Clean(d.Path)}
		if node, ok := findGuestNode(d); ok {
			if tmpfsDev && node.onTmpfsDev && cd.ContainerPath == node.path {
				continue // already there
			}
			cd.GuestPath = node.path
		} else if err := byNumber(&cd, d); err != nil {
			c.fail(invalid(field, "device %s: %v", d.Path, err))
			continue
		}
		if d.FileMode != nil {
			cd.FileMode = d.FileMode.Perm()
		}
		if d.UID != nil {
			cd.UID = *d.UID
		}
		if d.GID != nil {
			cd.GID = *d.GID
		}
		out = append(out, cd)
	}
	return out
}

// The kernel's device numbers: 12 bits of major, 20 of minor.
const (
	maxMajor = 1<<12 - 1
	maxMinor = 1<<20 - 1
)

// byNumber makes cd a node the guest creates by its numbers, as runc
// creates the nodes of linux.devices. The numbers mean what they mean to
// the guest kernel: a host disk or GPU reaches the guest only when passed
// through (a VFIO node, PCIDEVICE_*, a volume).
func byNumber(cd *Device, d specs.LinuxDevice) error {
	typ := d.Type
	if typ == "u" {
		typ = "c" // unbuffered character device: the same node
	}
	switch typ {
	case "c", "b":
		if d.Major < 0 || d.Major > maxMajor || d.Minor < 0 || d.Minor > maxMinor {
			return fmt.Errorf("device number %d:%d is out of range (major 0-%d, minor 0-%d)", d.Major, d.Minor, maxMajor, maxMinor)
		}
	case "p":
		if d.Major != 0 || d.Minor != 0 {
			return fmt.Errorf("a FIFO (type p) has no device numbers, got %d:%d", d.Major, d.Minor)
		}
	default:
		return fmt.Errorf("type %q: want c, u, b or p", d.Type)
	}
	cd.Type, cd.Major, cd.Minor = typ, uint32(d.Major), uint32(d.Minor)
	return nil
}

// findGuestNode matches a character device ("c" or its alias "u") by its
// numbers, whatever path the container wants it at.
func findGuestNode(d specs.LinuxDevice) (guestNode, bool) {
	if d.Type != "c" && d.Type != "u" {
		return guestNode{}, false
	}
	for _, n := range guestNodes {
		if n.major == d.Major && n.minor == d.Minor {
			return n, true
		}
	}
	return guestNode{}, false
}

// vfioNodes lists the host VFIO nodes linux.devices names, cleaned:
// /dev/vfio/vfio, /dev/vfio/<group> and iommufd's
// /dev/vfio/devices/vfio<N>. The engine passes the functions behind them
// through and gives the container the guest's nodes instead.
func (c *converter) vfioNodes(ds []specs.LinuxDevice) []string {
	var out []string
	for i, d := range ds {
		if !isVFIONode(d.Path) {
			continue
		}
		if d.Type != "c" && d.Type != "u" {
			c.fail(invalid(fmt.Sprintf("linux.devices[%d]", i), "%s is a VFIO node, a character device, not type %q", d.Path, d.Type))
			continue
		}
		out = append(out, path.Clean(d.Path))
	}
	return out
}

// isVFIONode says whether a linux.devices path is a host VFIO node.
func isVFIONode(p string) bool {
	if !path.IsAbs(p) {
		return false
	}
	p = path.Clean(p)
	return path.Dir(p) == "/dev/vfio" || path.Dir(p) == "/dev/vfio/devices"
}
