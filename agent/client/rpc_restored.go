package client

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/kite-vm/kite/agent/protocol"
)

// Restored makes a guest restored from a template's saved state its own:
// seed (fresh from the host's RNG) reseeds the guest kernel's RNG, now
// sets its clock.
func (c *Client) Restored(ctx context.Context, seed []byte, now time.Time) error {
	_, err := call(ctx, c, "Restored", 0, c.agent.Restored, &protocol.RestoredRequest{Seed: seed, Time: timestamppb.New(now)})
	return err
}
