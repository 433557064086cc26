package server

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/devices"
	"github.com/kite-vm/kite/agent/server/pcipath"
)

// deviceRecord is what AddDevice found, for containers that use the device.
type deviceRecord struct {
	node          devices.Node // Path empty for NET and FS
	containerPath string       // default path in containers
	adding        bool         // the wait is in progress
}

// AddDevice waits for a device, binds the wanted driver and reports what
// the guest made of it.
func (s *Service) AddDevice(ctx context.Context, req *protocol.AddDeviceRequest) (*protocol.AddDeviceResponse, error) {
	d := req.GetDevice()
	if err := validateDevice(d); err != nil {
		return nil, err
	}
	wait, err := timeout(d.GetTimeout(), s.cfg.DeviceTimeout)
	if err != nil {
		return nil, err
	}
	if err := s.reserveDevice(d.GetId()); err != nil {
		return nil, err
	}
	resp, node, err := s.findDevice(ctx, d, wait)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		delete(s.devices, d.GetId())
		return nil, fmt.Errorf("adding device %q: %w", d.GetId(), err)
	}
	s.devices[d.GetId()] = deviceRecord{node: node, containerPath: d.GetContainerPath()}
	return resp, nil
}

func (s *Service) reserveDevice(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.mutableLocked(); err != nil {
		return err
	}
	if _, ok := s.devices[id]; ok {
		return fmt.Errorf("%w: device %q", ErrExists, id)
	}
	s.devices[id] = deviceRecord{adding: true}
	return nil
}

func validateDevice(d *protocol.Device) error {
	if d == nil {
		return fmt.Errorf("%w: no device", ErrInvalid)
	}
	if err := checkID("device", d.GetId()); err != nil {
		return err
	}
	switch d.GetKind() {
	case protocol.DeviceKind_DEVICE_KIND_PMEM:
		if d.GetMode() == protocol.DeviceMode_DEVICE_MODE_VFIO {
			return fmt.Errorf("%w: device %q: an NVDIMM cannot be bound to vfio-pci", ErrInvalid, d.GetId())
		}
	case protocol.DeviceKind_DEVICE_KIND_BLOCK, protocol.DeviceKind_DEVICE_KIND_NET,
		protocol.DeviceKind_DEVICE_KIND_VFIO, protocol.DeviceKind_DEVICE_KIND_FS:
		if _, err := pcipath.Parse(d.GetGuestPciPath()); err != nil {
			return fmt.Errorf("device %q: %w", d.GetId(), err)
		}
	default:
		return fmt.Errorf("%w: device %q: unknown kind %v", ErrInvalid, d.GetId(), d.GetKind())
	}
	if _, ok := protocol.DeviceMode_name[int32(d.GetMode())]; !ok {
		return fmt.Errorf("%w: device %q: unknown mode %v", ErrInvalid, d.GetId(), d.GetMode())
	}
	if cp := d.GetContainerPath(); cp != "" && (!filepath.IsAbs(cp) || filepath.Clean(cp) != cp) {
		return fmt.Errorf("%w: device %q: container path %q is not a clean absolute path", ErrInvalid, d.GetId(), cp)
	}
	return nil
}

// findDevice waits for a validated device and applies its mode.
func (s *Service) findDevice(ctx context.Context, d *protocol.Device, wait time.Duration) (*protocol.AddDeviceResponse, devices.Node, error) {
	if d.GetKind() == protocol.DeviceKind_DEVICE_KIND_PMEM {
		node, err := s.finder.WaitPmem(ctx, d.GetDeviceName(), wait)
		return nodeResponse(node), node, err
	}
	p, _ := pcipath.Parse(d.GetGuestPciPath())
	dir, err := s.finder.WaitPCI(ctx, p, wait)
	if err != nil {
		return nil, devices.Node{}, err
	}
	switch d.GetMode() {
	case protocol.DeviceMode_DEVICE_MODE_VFIO:
		node, err := s.finder.BindVFIO(ctx, dir, wait)
		resp := nodeResponse(node)
		resp.GuestName = pcipath.BDF(dir)
		return resp, node, err
	case protocol.DeviceMode_DEVICE_MODE_KERNEL:
		if d.GetKind() == protocol.DeviceKind_DEVICE_KIND_VFIO {
			node, err := s.finder.BindFunction(ctx, p, dir, wait)
			resp := nodeResponse(node)
			resp.GuestName = pcipath.BDF(dir)
			return resp, node, err
		}
		if _, err := s.finder.BindKernel(ctx, dir, wait); err != nil {
			return nil, devices.Node{}, err
		}
	}
	switch d.GetKind() {
	case protocol.DeviceKind_DEVICE_KIND_BLOCK:
		node, err := s.finder.WaitBlock(ctx, p, wait)
		return nodeResponse(node), node, err
	case protocol.DeviceKind_DEVICE_KIND_NET:
		name, err := s.finder.WaitNet(ctx, p, wait)
		return &protocol.AddDeviceResponse{GuestName: name}, devices.Node{}, err
	case protocol.DeviceKind_DEVICE_KIND_FS:
		return &protocol.AddDeviceResponse{GuestName: s.finder.FSTag(dir)}, devices.Node{}, nil
	}
	return &protocol.AddDeviceResponse{GuestName: pcipath.BDF(dir)}, devices.Node{}, nil
}

func nodeResponse(n devices.Node) *protocol.AddDeviceResponse {
	return &protocol.AddDeviceResponse{GuestName: n.Name, DevPath: n.Path, Major: n.Major, Minor: n.Minor}
}
