package client

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/kite-vm/kite/agent/protocol"
)

// VersionInfo identifies the agent that answered Check.
type VersionInfo struct {
	// AgentVersion is the agent's release string.
	AgentVersion string
	// ProtocolVersion is the protocol version the agent speaks.
	ProtocolVersion uint32
}

// Check asks the agent whether it serves, and who it is.
func (c *Client) Check(ctx context.Context) (VersionInfo, error) {
	r, err := call(ctx, c, "Check", 0, c.agent.Check, &protocol.CheckRequest{})
	if err != nil {
		return VersionInfo{}, err
	}
	return VersionInfo{AgentVersion: r.GetAgentVersion(), ProtocolVersion: r.GetProtocolVersion()}, nil
}

// Version reports the agent's build.
func (c *Client) Version(ctx context.Context) (*protocol.VersionResponse, error) {
	return call(ctx, c, "Version", 0, c.agent.Version, &protocol.VersionRequest{})
}

// GuestDetails reports the guest's kernel, memory, CPUs and modules.
func (c *Client) GuestDetails(ctx context.Context) (*protocol.GuestDetailsResponse, error) {
	return call(ctx, c, "GuestDetails", 0, c.agent.GuestDetails, &protocol.GuestDetailsRequest{})
}

// CreateSandbox prepares the guest for the pod.
func (c *Client) CreateSandbox(ctx context.Context, req *protocol.CreateSandboxRequest) error {
	var wait time.Duration
	for _, s := range req.GetStorages() {
		wait += s.GetTimeout().AsDuration()
	}
	_, err := call(ctx, c, "CreateSandbox", wait, c.agent.CreateSandbox, req)
	return err
}

// DestroySandbox kills every container and unmounts every storage, waiting
// up to timeout (zero: the agent's default) for processes to die.
func (c *Client) DestroySandbox(ctx context.Context, timeout time.Duration) error {
	req := &protocol.DestroySandboxRequest{Timeout: optDuration(timeout)}
	_, err := call(ctx, c, "DestroySandbox", timeout, c.agent.DestroySandbox, req)
	return err
}

// AddDevice waits for dev to appear in the guest and binds its driver.
func (c *Client) AddDevice(ctx context.Context, dev *protocol.Device) (*protocol.AddDeviceResponse, error) {
	req := &protocol.AddDeviceRequest{Device: dev}
	return call(ctx, c, "AddDevice", dev.GetTimeout().AsDuration(), c.agent.AddDevice, req)
}

// AddStorage mounts s in the guest and returns its mount point.
func (c *Client) AddStorage(ctx context.Context, s *protocol.Storage) (string, error) {
	req := &protocol.AddStorageRequest{Storage: s}
	r, err := call(ctx, c, "AddStorage", s.GetTimeout().AsDuration(), c.agent.AddStorage, req)
	if err != nil {
		return "", err
	}
	return r.GetMountPoint(), nil
}

// RemoveStorage unmounts the storage with the given id.
func (c *Client) RemoveStorage(ctx context.Context, storageID string) error {
	req := &protocol.RemoveStorageRequest{StorageId: storageID}
	_, err := call(ctx, c, "RemoveStorage", 0, c.agent.RemoveStorage, req)
	return err
}

// optDuration leaves a zero duration unset, meaning "the agent's default".
func optDuration(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}
