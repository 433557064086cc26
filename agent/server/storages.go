package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/pcipath"
	"github.com/kite-vm/kite/agent/server/storage"
	"golang.org/x/sys/unix"
)

// AddStorage mounts one storage, waiting for its disk or NVDIMM first.
func (s *Service) AddStorage(ctx context.Context, req *protocol.AddStorageRequest) (*protocol.AddStorageResponse, error) {
	if req.GetStorage() == nil {
		return nil, fmt.Errorf("%w: no storage", ErrInvalid)
	}
	if _, err := storageSpec(req.GetStorage()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	err := s.mutableLocked()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	mp, err := s.addStorage(ctx, req.GetStorage())
	if err != nil {
		return nil, err
	}
	return &protocol.AddStorageResponse{MountPoint: mp}, nil
}

// RemoveStorage unmounts a storage.
func (s *Service) RemoveStorage(_ context.Context, req *protocol.RemoveStorageRequest) (*protocol.RemoveStorageResponse, error) {
	if err := checkID("storage", req.GetStorageId()); err != nil {
		return nil, err
	}
	if err := s.storages.Release(req.GetStorageId()); err != nil {
		return nil, err
	}
	return &protocol.RemoveStorageResponse{}, nil
}

// addStorage resolves a validated storage's backing device and mounts it.
func (s *Service) addStorage(ctx context.Context, st *protocol.Storage) (string, error) {
	spec, err := storageSpec(st)
	if err != nil {
		return "", err
	}
	wait, err := timeout(st.GetTimeout(), s.cfg.DeviceTimeout)
	if err != nil {
		return "", err
	}
	switch spec.Driver {
	case storage.Block:
		p, _ := pcipath.Parse(st.GetGuestPciPath())
		node, err := s.finder.WaitBlock(ctx, p, wait)
		if err != nil {
			return "", err
		}
		spec.Source = node.Path
	case storage.VirtioFS, storage.NineP:
		if st.GetGuestPciPath() != "" { // hot-plugged: wait for its driver
			p, _ := pcipath.Parse(st.GetGuestPciPath())
			if err := s.finder.WaitFS(ctx, p, wait); err != nil {
				return "", err
			}
		}
	case storage.Pmem:
		node, err := s.finder.WaitPmem(ctx, st.GetSource(), wait)
		if err != nil {
			return "", err
		}
		spec.Source = node.Path
	}
	if (spec.Driver == storage.VirtioFS || spec.Driver == storage.NineP) && st.GetGuestPciPath() != "" {
		return s.mountHotShare(ctx, spec, wait)
	}
	return s.storages.Mount(spec)
}

// mountHotShare mounts a hot-plugged virtio-fs or 9p share, retrying while
// the kernel does not know its tag yet: both drivers register the tag at
// the very end of their probe, after everything sysfs shows (a 6.10+
// kernel publishes /sys/fs/virtiofs/*/tag, 6.1 nothing), and an unknown tag
// fails the mount with EINVAL (virtio-fs) or ENOENT (9p).
func (s *Service) mountHotShare(ctx context.Context, spec storage.Spec, wait time.Duration) (string, error) {
	unknownTag := unix.EINVAL
	if spec.Driver == storage.NineP {
		unknownTag = unix.ENOENT
	}
	deadline := time.Now().Add(wait)
	for {
		mp, err := s.storages.Mount(spec)
		if err == nil || !errors.Is(err, unknownTag) || time.Now().After(deadline) {
			return mp, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

var storageDrivers = map[protocol.StorageDriver]storage.Driver{
	protocol.StorageDriver_STORAGE_DRIVER_VIRTIOFS: storage.VirtioFS,
	protocol.StorageDriver_STORAGE_DRIVER_9P:       storage.NineP,
	protocol.StorageDriver_STORAGE_DRIVER_BLK:      storage.Block,
	protocol.StorageDriver_STORAGE_DRIVER_PMEM:     storage.Pmem,
	protocol.StorageDriver_STORAGE_DRIVER_LOCAL:    storage.Local,
	protocol.StorageDriver_STORAGE_DRIVER_BIND:     storage.Bind,
}

// storageSpec converts and checks what can be checked before any wait: a
// BLK storage's device is only known once it has appeared.
func storageSpec(st *protocol.Storage) (storage.Spec, error) {
	if err := checkID("storage", st.GetId()); err != nil {
		return storage.Spec{}, err
	}
	drv, ok := storageDrivers[st.GetDriver()]
	if !ok {
		return storage.Spec{}, fmt.Errorf("%w: storage %q: unknown driver %v", ErrInvalid, st.GetId(), st.GetDriver())
	}
	spec := storage.Spec{
		ID: st.GetId(), Driver: drv, Source: st.GetSource(), MountPoint: st.GetMountPoint(),
		FSType: st.GetFstype(), Options: st.GetOptions(), Readonly: st.GetReadonly(),
	}
	if drv == storage.Block || (drv == storage.VirtioFS || drv == storage.NineP) && st.GetGuestPciPath() != "" {
		if _, err := pcipath.Parse(st.GetGuestPciPath()); err != nil {
			return storage.Spec{}, fmt.Errorf("storage %q: %w", st.GetId(), err)
		}
	}
	if drv == storage.Block {
		if _, err := pcipath.Parse(st.GetGuestPciPath()); err != nil {
			return storage.Spec{}, fmt.Errorf("storage %q: %w", st.GetId(), err)
		}
		spec.Source = "/dev/pending" // checked by plan now, replaced once the disk appears
	}
	if drv == storage.Pmem {
		spec.Source = "/dev/" + st.GetSource()
	}
	if _, err := timeout(st.GetTimeout(), 0); err != nil {
		return storage.Spec{}, err
	}
	if err := storage.Validate(spec); err != nil {
		return storage.Spec{}, err
	}
	return spec, nil
}
