package control

import (
	"context"
	"fmt"
)

// AddVolumeRequest hot-plugs a volume into the sandbox's VM.
type AddVolumeRequest struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"` // blk, virtio-fs or 9p
	Source   string `json:"source"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	FSType   string `json:"fsType,omitempty"`
}

// RemoveVolumeRequest unplugs a volume.
type RemoveVolumeRequest struct {
	Name string `json:"name"`
}

// VolumesRequest lists the hot-plugged volumes.
type VolumesRequest struct{}

// VolumeInfo is a volume in the VM.
type VolumeInfo struct {
	Name      string         `json:"name"`
	Kind      string         `json:"kind"`
	Source    string         `json:"source"`
	ReadOnly  bool           `json:"readOnly"`
	GuestPath string         `json:"guestPath"`
	Hotplug   HotplugTimings `json:"hotplug"`
}

// VolumesResponse lists volumes.
type VolumesResponse struct {
	Volumes []VolumeInfo `json:"volumes"`
}

// VolumeHandler serves the volume requests.
type VolumeHandler interface {
	AddVolume(ctx context.Context, req AddVolumeRequest) (VolumeInfo, error)
	RemoveVolume(ctx context.Context, req RemoveVolumeRequest) error
	Volumes(ctx context.Context) (VolumesResponse, error)
}

func dispatchVolume(ctx context.Context, h Handler, req Request) (Response, error) {
	vh, ok := h.(VolumeHandler)
	if !ok {
		return Response{}, errorf(CodeFailedPrecondition, "this sandbox process does not manage volumes")
	}
	switch {
	case req.AddVolume != nil:
		r, err := vh.AddVolume(ctx, *req.AddVolume)
		return Response{Volume: &r}, err
	case req.RemoveVolume != nil:
		return Response{}, vh.RemoveVolume(ctx, *req.RemoveVolume)
	default:
		r, err := vh.Volumes(ctx)
		return Response{Volumes: &r}, err
	}
}

// AddVolume asks the sandbox process to hot-plug a volume.
func (c *Client) AddVolume(ctx context.Context, req AddVolumeRequest) (VolumeInfo, error) {
	resp, err := c.call(ctx, Request{AddVolume: &req}, nil)
	if err != nil {
		return VolumeInfo{}, err
	}
	if resp.Volume == nil {
		return VolumeInfo{}, fmt.Errorf("%w: add-volume answered without the volume", ErrInternal)
	}
	return *resp.Volume, nil
}

// RemoveVolume asks the sandbox process to unplug the volume name.
func (c *Client) RemoveVolume(ctx context.Context, name string) error {
	_, err := c.call(ctx, Request{RemoveVolume: &RemoveVolumeRequest{Name: name}}, nil)
	return err
}

// Volumes lists the volumes hot-plugged into the sandbox's VM.
func (c *Client) Volumes(ctx context.Context) ([]VolumeInfo, error) {
	resp, err := c.call(ctx, Request{Volumes: &VolumesRequest{}}, nil)
	if err != nil {
		return nil, err
	}
	if resp.Volumes == nil {
		return nil, fmt.Errorf("%w: volumes answered without a list", ErrInternal)
	}
	return resp.Volumes.Volumes, nil
}
