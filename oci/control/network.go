package control

import (
	"context"
	"fmt"
	"time"
)

// AddInterfaceRequest carries an interface of the pod's netns, added after
// the sandbox started, into the VM.
type AddInterfaceRequest struct {
	Name string `json:"name"`
}

// RemoveInterfaceRequest unplugs a hot-plugged interface.
type RemoveInterfaceRequest struct {
	Name string `json:"name"`
}

// InterfacesRequest lists the interfaces carried into the VM.
type InterfacesRequest struct{}

// Interface is a pod interface in the VM.
type Interface struct {
	Name   string `json:"name"`
	Model  string `json:"model"`
	MAC    string `json:"mac"`
	Queues int    `json:"queues"`
	// Hotplugged: added to the running sandbox, not carried at boot.
	Hotplugged bool `json:"hotplugged"`
	// Hotplug is set for an interface added by AddInterface: how long
	// each part of the plug took.
	Hotplug *HotplugTimings `json:"hotplug,omitempty"`
}

// HotplugTimings are a hot plug's durations from its first QMP command.
type HotplugTimings struct {
	QMP        time.Duration `json:"qmpNs"`
	Visible    time.Duration `json:"visibleNs"`
	Configured time.Duration `json:"configuredNs"`
}

// InterfacesResponse lists interfaces.
type InterfacesResponse struct {
	Interfaces []Interface `json:"interfaces"`
}

// NetworkHandler serves the network requests, an ability the sandbox
// process has and a Handler may lack.
type NetworkHandler interface {
	AddInterface(ctx context.Context, req AddInterfaceRequest) (Interface, error)
	RemoveInterface(ctx context.Context, req RemoveInterfaceRequest) error
	Interfaces(ctx context.Context) (InterfacesResponse, error)
}

func dispatchNetwork(ctx context.Context, h Handler, req Request) (Response, error) {
	nh, ok := h.(NetworkHandler)
	if !ok {
		return Response{}, errorf(CodeFailedPrecondition, "this sandbox process does not manage networks")
	}
	switch {
	case req.AddInterface != nil:
		r, err := nh.AddInterface(ctx, *req.AddInterface)
		return Response{Interface: &r}, err
	case req.RemoveInterface != nil:
		return Response{}, nh.RemoveInterface(ctx, *req.RemoveInterface)
	default:
		r, err := nh.Interfaces(ctx)
		return Response{Interfaces: &r}, err
	}
}

// AddInterface asks the sandbox process to hot-plug the pod interface name.
func (c *Client) AddInterface(ctx context.Context, name string) (Interface, error) {
	resp, err := c.call(ctx, Request{AddInterface: &AddInterfaceRequest{Name: name}}, nil)
	if err != nil {
		return Interface{}, err
	}
	if resp.Interface == nil {
		return Interface{}, fmt.Errorf("%w: add-interface answered without the interface", ErrInternal)
	}
	return *resp.Interface, nil
}

// RemoveInterface asks the sandbox process to unplug the interface name.
func (c *Client) RemoveInterface(ctx context.Context, name string) error {
	_, err := c.call(ctx, Request{RemoveInterface: &RemoveInterfaceRequest{Name: name}}, nil)
	return err
}

// Interfaces lists the pod interfaces in the sandbox's VM.
func (c *Client) Interfaces(ctx context.Context) ([]Interface, error) {
	resp, err := c.call(ctx, Request{Interfaces: &InterfacesRequest{}}, nil)
	if err != nil {
		return nil, err
	}
	if resp.Interfaces == nil {
		return nil, fmt.Errorf("%w: interfaces answered without a list", ErrInternal)
	}
	return resp.Interfaces.Interfaces, nil
}
