package server

import (
	"context"
	"fmt"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/pcipath"
	"github.com/kite-vm/kite/agent/server/storage"
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
	if err := s.storages.Unmount(req.GetStorageId()); err != nil {
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
	case storage.Pmem:
		node, err := s.finder.WaitPmem(ctx, st.GetSource(), wait)
		if err != nil {
			return "", err
		}
		spec.Source = node.Path
	}
	return s.storages.Mount(spec)
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
