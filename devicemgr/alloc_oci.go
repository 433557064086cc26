package devicemgr

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/internal/sysfs"
)

// VFIO device nodes, on the host and in the guest.
const (
	// VFIOContainerNode is the VFIO container node every VFIO user opens.
	VFIOContainerNode = "/dev/vfio/vfio"
	vfioDir           = "/dev/vfio"
	vfioCdevDir       = "/dev/vfio/devices" // iommufd device nodes, vfio<N>
	vfioPCI           = "vfio-pci"
)

// IsVFIONode reports whether an OCI linux.devices path names a host VFIO
// node: the container node, a group node or an iommufd device node.
func IsVFIONode(p string) bool {
	p = path.Clean(p)
	return p == VFIOContainerNode || path.Dir(p) == vfioDir || path.Dir(p) == vfioCdevDir
}

// VFIONodeRequests turns the host VFIO nodes an OCI spec's linux.devices
// names into requests. /dev/vfio/<group> asks for every function of that
// IOMMU group (which the host bound to vfio-pci already: that is how the
// node exists, and Plan checks it); /dev/vfio/devices/vfio<N>, an iommufd
// device node, asks for the one function behind it, found in sysfsRoot's
// class/vfio-dev. /dev/vfio/vfio, the container node, asks for nothing: a
// container in vfio mode gets the guest's. Each request's source is
// "linux.devices <path>".
func VFIONodeRequests(sysfsRoot string, nodes []string) (Requests, error) {
	var r Requests
	for _, n := range nodes {
		p := path.Clean(n)
		source := "linux.devices " + p
		dir, name := path.Split(p)
		switch {
		case p == VFIOContainerNode:
		case path.Clean(dir) == vfioDir:
			g, err := strconv.Atoi(name)
			if err != nil || g < 0 || strconv.Itoa(g) != name {
				return Requests{}, fmt.Errorf("%w: %s: want /dev/vfio/<IOMMU group number>", ErrBadRequest, source)
			}
			r.Groups = append(r.Groups, GroupRequest{Source: source, Group: g})
		case path.Clean(dir) == vfioCdevDir:
			bdf, err := cdevFunction(sysfsRoot, name)
			if err != nil {
				return Requests{}, fmt.Errorf("%s: %w", source, err)
			}
			r.Exact = append(r.Exact, ExactRequest{Source: source, BDFs: []string{bdf}})
		default:
			return Requests{}, fmt.Errorf("%w: %s is not a VFIO node (/dev/vfio/<group> or /dev/vfio/devices/vfio<N>)", ErrBadRequest, source)
		}
	}
	return r, nil
}

// cdevFunction finds the PCI function behind the iommufd device node name
// (vfio<N>): class/vfio-dev/vfio<N>/device links to it.
func cdevFunction(sysfsRoot, name string) (string, error) {
	n, ok := strings.CutPrefix(name, "vfio")
	if _, err := strconv.Atoi(n); !ok || err != nil {
		return "", fmt.Errorf("%w: want /dev/vfio/devices/vfio<N>", ErrBadRequest)
	}
	bdf, err := sysfs.LinkBase(filepath.Join(sysfsRoot, "class", "vfio-dev", name, "device"))
	if err != nil {
		return "", fmt.Errorf("reading the function of %s: %w", name, err)
	}
	if bdf == "" || !ValidBDF(bdf) {
		return "", fmt.Errorf("%w: the host has no VFIO device %s (is the function bound to vfio-pci, with iommufd's device nodes?)", ErrUnknownDevice, name)
	}
	return bdf, nil
}
