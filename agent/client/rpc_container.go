package client

import (
	"context"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
)

// CreateContainer creates a container with its init process stopped before
// exec, and returns the init process's guest pid.
func (c *Client) CreateContainer(ctx context.Context, req *protocol.CreateContainerRequest) (uint32, error) {
	var wait time.Duration
	for _, s := range req.GetStorages() {
		wait += s.GetTimeout().AsDuration()
	}
	r, err := call(ctx, c, "CreateContainer", wait, c.agent.CreateContainer, req)
	if err != nil {
		return 0, err
	}
	return r.GetPid(), nil
}

// StartContainer lets the container's init process exec its program.
func (c *Client) StartContainer(ctx context.Context, containerID string) error {
	req := &protocol.StartContainerRequest{ContainerId: containerID}
	_, err := call(ctx, c, "StartContainer", 0, c.agent.StartContainer, req)
	return err
}

// RemoveContainer kills what is left of the container and frees it,
// waiting up to timeout (zero: the agent's default) for that.
func (c *Client) RemoveContainer(ctx context.Context, containerID string, timeout time.Duration) error {
	req := &protocol.RemoveContainerRequest{ContainerId: containerID, Timeout: optDuration(timeout)}
	_, err := call(ctx, c, "RemoveContainer", timeout, c.agent.RemoveContainer, req)
	return err
}

// PauseContainer freezes the container's cgroup.
func (c *Client) PauseContainer(ctx context.Context, containerID string) error {
	req := &protocol.PauseContainerRequest{ContainerId: containerID}
	_, err := call(ctx, c, "PauseContainer", 0, c.agent.PauseContainer, req)
	return err
}

// ResumeContainer thaws the container's cgroup.
func (c *Client) ResumeContainer(ctx context.Context, containerID string) error {
	req := &protocol.ResumeContainerRequest{ContainerId: containerID}
	_, err := call(ctx, c, "ResumeContainer", 0, c.agent.ResumeContainer, req)
	return err
}

// UpdateContainer changes the container's cgroup limits; unset fields of
// res are left as they are.
func (c *Client) UpdateContainer(ctx context.Context, containerID string, res *protocol.Resources) error {
	req := &protocol.UpdateContainerRequest{ContainerId: containerID, Resources: res}
	_, err := call(ctx, c, "UpdateContainer", 0, c.agent.UpdateContainer, req)
	return err
}

// Stats returns cgroup usage of the given containers, or of all of them
// when none is given.
func (c *Client) Stats(ctx context.Context, containerIDs ...string) ([]*protocol.ContainerStats, error) {
	req := &protocol.StatsRequest{ContainerIds: containerIDs}
	r, err := call(ctx, c, "Stats", 0, c.agent.Stats, req)
	if err != nil {
		return nil, err
	}
	return r.GetStats(), nil
}
