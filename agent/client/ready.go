package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
)

// WaitReady polls Check until the agent answers, then verifies it speaks
// protocol.Version. It gives up when ctx ends (after DefaultReadyTimeout if
// ctx has no deadline) or when the connection closes.
//
// Each attempt has a short deadline that doubles up to a maximum. Over
// virtio-serial, requests sent before the guest opens its port wait in the
// socket and are all answered once the agent starts: ttrpc matches replies
// by stream id and drops those for attempts that already timed out.
func (c *Client) WaitReady(ctx context.Context) (VersionInfo, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultReadyTimeout)
		defer cancel()
	}
	attempt := c.readyAttempt
	for n := 1; ; n++ {
		started := time.Now()
		info, err := c.checkOnce(ctx, attempt)
		if err == nil {
			return info, compatible(info)
		}
		if ctx.Err() != nil || connClosed(err) || !retryable(err) {
			return VersionInfo{}, fmt.Errorf("waiting for the agent (%d attempts): %w", n, err)
		}
		// A quick refusal (the agent said Unavailable) must not spin.
		if err := sleep(ctx, attempt-time.Since(started)); err != nil {
			return VersionInfo{}, fmt.Errorf("waiting for the agent (%d attempts): %w", n, wrapError(ctx, "Check", err))
		}
		attempt = min(2*attempt, c.readyMaxAttempt)
	}
}

func (c *Client) checkOnce(ctx context.Context, attempt time.Duration) (VersionInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, attempt)
	defer cancel()
	return c.Check(ctx)
}

// retryable reports whether a failed Check may succeed later: the agent is
// not up yet (no answer in time) or says it is not ready.
func retryable(err error) bool {
	return errors.Is(err, ErrDeadline) || errors.Is(err, ErrUnavailable)
}

func compatible(info VersionInfo) error {
	if info.ProtocolVersion != protocol.Version {
		return fmt.Errorf("agent %s speaks protocol %d, this host speaks %d: %w",
			info.AgentVersion, info.ProtocolVersion, protocol.Version, ErrProtocolVersion)
	}
	return nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
