package devices

import (
	"context"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kite-vm/kite/agent/server/pcipath"
)

// Node is a device node the kernel created for a device.
type Node struct {
	Name  string // kernel name, e.g. "vdb", "pmem0", "3" (a VFIO group)
	Path  string // node under the /dev root, e.g. "/dev/vdb"
	Major uint32
	Minor uint32
}

// Finder waits for devices under one sysfs root and one /dev root.
type Finder struct {
	sysfs   string
	dev     string
	watcher *Watcher
}

// NewFinder returns a Finder reading sysfs (normally "/sys") and dev
// (normally "/dev"), woken by w.
func NewFinder(sysfs, dev string, w *Watcher) *Finder {
	return &Finder{sysfs: sysfs, dev: dev, watcher: w}
}

// WaitPCI waits for the device at p and returns its sysfs directory.
func (f *Finder) WaitPCI(ctx context.Context, p pcipath.Path, timeout time.Duration) (string, error) {
	var dir string
	err := f.watcher.Wait(ctx, "device at PCI path "+p.String(), timeout, func() (bool, error) {
		d, err := pcipath.Resolve(f.sysfs, p)
		if errors.Is(err, pcipath.ErrNotFound) {
			return false, nil
		}
		dir = d
		return err == nil, err
	})
	return dir, err
}

// WaitBlock waits for the disk at p and its device node.
func (f *Finder) WaitBlock(ctx context.Context, p pcipath.Path, timeout time.Duration) (Node, error) {
	var node Node
	err := f.watcher.Wait(ctx, "disk at PCI path "+p.String(), timeout, func() (bool, error) {
		dir, err := pcipath.Resolve(f.sysfs, p)
		if errors.Is(err, pcipath.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		name, ok := child(dir, "block")
		if !ok {
			return false, nil
		}
		node, ok, err = f.node(filepath.Join(f.sysfs, "class", "block", name), name, name)
		return ok, err
	})
	return node, err
}

// WaitNet waits for the NIC at p and returns its interface name.
func (f *Finder) WaitNet(ctx context.Context, p pcipath.Path, timeout time.Duration) (string, error) {
	var name string
	err := f.watcher.Wait(ctx, "NIC at PCI path "+p.String(), timeout, func() (bool, error) {
		dir, err := pcipath.Resolve(f.sysfs, p)
		if errors.Is(err, pcipath.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		var ok bool
		name, ok = child(dir, "net")
		return ok, nil
	})
	return name, err
}

// WaitPmem waits for the NVDIMM block device name ("pmem0").
func (f *Finder) WaitPmem(ctx context.Context, name string, timeout time.Duration) (Node, error) {
	if !validPmemName(name) {
		return Node{}, fmt.Errorf("%q is not a pmem device name (pmemN)", name)
	}
	var node Node
	err := f.watcher.Wait(ctx, "NVDIMM "+name, timeout, func() (bool, error) {
		var ok bool
		var err error
		node, ok, err = f.node(filepath.Join(f.sysfs, "class", "block", name), name, name)
		return ok, err
	})
	return node, err
}

// FSTag returns the mount tag of the 9p or virtio-fs device in PCI device
// dir, or "" when the kernel does not publish it (virtio-fs before 6.10).
func (f *Finder) FSTag(dir string) string {
	virtio, ok := child(dir, "")
	if !ok {
		return ""
	}
	if b, err := os.ReadFile(filepath.Join(dir, virtio, "mount_tag")); err == nil {
		return strings.TrimRight(string(b), "\x00\n")
	}
	tags, _ := filepath.Glob(filepath.Join(f.sysfs, "fs", "virtiofs", "*", "tag"))
	for _, tag := range tags {
		dev, err := filepath.EvalSymlinks(filepath.Join(filepath.Dir(tag), "device"))
		if err != nil || filepath.Base(dev) != virtio {
			continue
		}
		if b, err := os.ReadFile(tag); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}

// node reads the "dev" attribute of sysfs class entry entry and checks that
// the node name exists under the /dev root; ok is false until both exist,
// because devtmpfs creates the node a moment after sysfs shows the device.
func (f *Finder) node(entry, name, devName string) (Node, bool, error) {
	b, err := os.ReadFile(filepath.Join(entry, "dev"))
	if errors.Is(err, os.ErrNotExist) {
		return Node{}, false, nil
	}
	if err != nil {
		return Node{}, false, fmt.Errorf("reading %s device number: %w", name, err)
	}
	major, minor, err := parseDevNumber(string(b))
	if err != nil {
		return Node{}, false, fmt.Errorf("reading %s device number: %w", name, err)
	}
	path := filepath.Join(f.dev, devName)
	if _, err := os.Stat(path); err != nil {
		return Node{}, false, nil
	}
	if !openable(path) {
		return Node{}, false, nil
	}
	return Node{Name: name, Path: path, Major: major, Minor: minor}, true, nil
}

// openable says whether the node opens, or fails for a reason other than
// ENXIO. A disk's sysfs entry and devtmpfs node appear in device_add_disk
// before the kernel marks the disk added; until then an open, and so a
// mount, fails with ENXIO ("no such device or address"): seen with the
// Kite kernel, whose built-in virtio-blk probes a hot-plugged disk while
// the agent already waits for it.
func openable(path string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return !errors.Is(err, unix.ENXIO)
	}
	unix.Close(fd)
	return true
}

// child finds the kernel name of a device's class child: PCI device dir
// holds it either directly (<dir>/net/eth0, NICs passed through) or in its
// virtio device (<dir>/virtio3/block/vda). With class "" it returns the
// virtio device itself.
func child(dir, class string) (string, bool) {
	pattern := filepath.Join(dir, "virtio*", class, "*")
	if class == "" {
		pattern = filepath.Join(dir, "virtio*")
	}
	matches, _ := filepath.Glob(pattern)
	if class != "" {
		direct, _ := filepath.Glob(filepath.Join(dir, class, "*"))
		matches = append(matches, direct...)
	}
	if len(matches) == 0 {
		return "", false
	}
	return filepath.Base(matches[0]), true
}

func parseDevNumber(s string) (uint32, uint32, error) {
	maj, min, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return 0, 0, fmt.Errorf("device number %q is not MAJOR:MINOR", s)
	}
	major, err1 := strconv.ParseUint(maj, 10, 32)
	minor, err2 := strconv.ParseUint(min, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("device number %q is not MAJOR:MINOR", s)
	}
	return uint32(major), uint32(minor), nil
}

// pmemRE matches NVDIMM block devices: pmem0, or pmem0.1 for a second
// namespace of a region.
var pmemRE = regexp.MustCompile(`^pmem[0-9]{1,4}(\.[0-9]{1,4})?$`)

func validPmemName(name string) bool { return pmemRE.MatchString(name) }
