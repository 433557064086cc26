package server

import (
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/container"
	"github.com/kite-vm/kite/agent/server/storage"
)

// rootfsOf resolves the container's root: a directory inside a mounted
// storage, which it may not leave (symlinks included).
func (s *Service) rootfsOf(r *protocol.Rootfs) (string, error) {
	if r == nil {
		return "", fmt.Errorf("%w: no rootfs", ErrInvalid)
	}
	if err := checkID("storage", r.GetStorageId()); err != nil {
		return "", err
	}
	mp, ok := s.storages.MountPoint(r.GetStorageId())
	if !ok {
		return "", fmt.Errorf("%w: rootfs storage %q", ErrNotFound, r.GetStorageId())
	}
	rel := r.GetPath()
	if rel != "" && !filepath.IsLocal(rel) {
		return "", fmt.Errorf("%w: rootfs path %q is not a relative path inside the storage", ErrInvalid, rel)
	}
	resolved, err := filepath.EvalSymlinks(filepath.Join(mp, rel))
	if err != nil {
		return "", fmt.Errorf("%w: rootfs %q in storage %q: %v", ErrInvalid, rel, r.GetStorageId(), err)
	}
	if resolved != mp && !strings.HasPrefix(resolved, mp+"/") {
		return "", fmt.Errorf("%w: rootfs %q leaves storage %q (to %s)", storage.ErrEscapes, rel, r.GetStorageId(), resolved)
	}
	if fi, err := os.Stat(resolved); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("%w: rootfs %s is not a directory", ErrInvalid, resolved)
	}
	return resolved, nil
}

// mountsOf converts the container's mounts; a bind mount's source must lie
// in a mounted storage and is passed on resolved.
func (s *Service) mountsOf(ms []*protocol.Mount) ([]container.Mount, error) {
	out := make([]container.Mount, 0, len(ms))
	for i, m := range ms {
		cm := container.Mount{Destination: m.GetDestination(), Type: m.GetType(), Source: m.GetSource(), Options: m.GetOptions()}
		if isBind(cm) {
			src, err := s.storages.Within(m.GetSource())
			if err != nil {
				return nil, fmt.Errorf("mount %d (%s): %w", i, m.GetDestination(), err)
			}
			cm.Source = src
		}
		out = append(out, cm)
	}
	return out, nil
}

func isBind(m container.Mount) bool {
	return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}

// devicesOf converts the container's device nodes: an added device by id,
// or a guest node under the /dev root.
func (s *Service) devicesOf(ds []*protocol.ContainerDevice) ([]container.Device, error) {
	out := make([]container.Device, 0, len(ds))
	for i, d := range ds {
		cd, err := s.containerDevice(d)
		if err != nil {
			return nil, fmt.Errorf("device %d: %w", i, err)
		}
		out = append(out, cd)
	}
	return out, nil
}

func (s *Service) containerDevice(d *protocol.ContainerDevice) (container.Device, error) {
	mode := d.GetFileMode()
	if mode&^0o777 != 0 {
		return container.Device{}, fmt.Errorf("%w: file mode %s", ErrInvalid, strconv.FormatUint(uint64(mode), 8))
	}
	cd := container.Device{Destination: d.GetContainerPath(), Mode: mode, UID: d.GetUid(), GID: d.GetGid()}
	if n := d.GetNumber(); n != nil {
		if d.GetDeviceId() != "" || d.GetGuestPath() != "" {
			return container.Device{}, fmt.Errorf("%w: %s: a number with a device id or a guest path", ErrInvalid, cd.Destination)
		}
		if cd.Destination == "" {
			return container.Device{}, fmt.Errorf("%w: a device made by number needs a container path", ErrInvalid)
		}
		kind, rdev, err := nodeNumber(n)
		if err != nil {
			return container.Device{}, fmt.Errorf("%s: %w", cd.Destination, err)
		}
		cd.Kind, cd.Rdev = kind, rdev
		return cd, nil
	}
	src, dst, err := s.deviceNode(d)
	if err != nil {
		return container.Device{}, err
	}
	cd.Source = src
	if cd.Destination == "" {
		cd.Destination = dst
	}
	return cd, nil
}

// The kernel's device numbers: 12 bits of major, 20 of minor.
const (
	maxMajor = 1<<12 - 1
	maxMinor = 1<<20 - 1
)

// nodeNumber checks a DeviceNumber and returns its file type and number.
func nodeNumber(n *protocol.DeviceNumber) (kind uint32, rdev uint64, err error) {
	if n.GetMajor() > maxMajor || n.GetMinor() > maxMinor {
		return 0, 0, fmt.Errorf("%w: device number %d:%d is beyond the kernel's (major <= %d, minor <= %d)", ErrInvalid, n.GetMajor(), n.GetMinor(), maxMajor, maxMinor)
	}
	switch n.GetType() {
	case "c":
		kind = unix.S_IFCHR
	case "b":
		kind = unix.S_IFBLK
	case "p":
		if n.GetMajor() != 0 || n.GetMinor() != 0 {
			return 0, 0, fmt.Errorf("%w: a FIFO with device numbers %d:%d", ErrInvalid, n.GetMajor(), n.GetMinor())
		}
		return unix.S_IFIFO, 0, nil
	default:
		return 0, 0, fmt.Errorf("%w: device type %q: want c, b or p", ErrInvalid, n.GetType())
	}
	return kind, unix.Mkdev(n.GetMajor(), n.GetMinor()), nil
}

// deviceNode returns the guest node of d and its default container path.
func (s *Service) deviceNode(d *protocol.ContainerDevice) (src, dst string, err error) {
	if id := d.GetDeviceId(); id != "" {
		s.mu.Lock()
		rec, ok := s.devices[id]
		s.mu.Unlock()
		switch {
		case !ok:
			return "", "", fmt.Errorf("%w: device %q", ErrNotFound, id)
		case rec.adding:
			return "", "", fmt.Errorf("%w: device %q is still being added", ErrState, id)
		case rec.node.Path == "":
			return "", "", fmt.Errorf("%w: device %q has no device node", ErrInvalid, id)
		}
		dst = rec.containerPath
		if dst == "" {
			dst = rec.node.Path
		}
		return rec.node.Path, dst, nil
	}
	p := d.GetGuestPath()
	if filepath.Clean(p) != p || !strings.HasPrefix(p, s.cfg.Dev+"/") {
		return "", "", fmt.Errorf("%w: guest device %q is not a node under %s", ErrInvalid, p, s.cfg.Dev)
	}
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return "", "", fmt.Errorf("%w: guest device %s", ErrNotFound, p)
	}
	return p, p, nil
}
