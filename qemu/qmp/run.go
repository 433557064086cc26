package qmp

import (
	"context"
	"errors"
)

// Stop pauses the VM's CPUs.
func (c *Client) Stop(ctx context.Context) error {
	return c.Execute(ctx, "stop", nil, nil)
}

// Cont resumes the VM's CPUs.
func (c *Client) Cont(ctx context.Context) error {
	return c.Execute(ctx, "cont", nil, nil)
}

// SystemPowerdown presses the ACPI power button; the guest decides whether
// and when to shut down (SHUTDOWN event).
func (c *Client) SystemPowerdown(ctx context.Context) error {
	return c.Execute(ctx, "system_powerdown", nil, nil)
}

// Quit makes QEMU exit. QEMU may exit before its reply reaches us: once the
// command is sent, the connection ending counts as success. The caller still
// reaps the process.
func (c *Client) Quit(ctx context.Context) error {
	call, err := c.send(ctx, "quit", nil, nil)
	if err != nil {
		return err
	}
	if err := c.await(ctx, call, nil); err != nil && !errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}
