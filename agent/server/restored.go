package server

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/restore"
)

// Restored makes a guest restored from a template's saved state its own:
// the host's seed in the kernel's RNG, reseeded at once, and the host's
// clock. A guest that serves a sandbox already was not just restored.
func (s *Service) Restored(_ context.Context, r *protocol.RestoredRequest) (*protocol.RestoredResponse, error) {
	if !r.GetTime().IsValid() {
		return nil, fmt.Errorf("%w: Restored without a valid time", ErrInvalid)
	}
	s.mu.Lock()
	phase, id := s.phase, s.sandboxID
	s.mu.Unlock()
	if phase != sandboxNone {
		return nil, fmt.Errorf("%w: the guest serves sandbox %q already: a restored guest is made unique before any sandbox", ErrState, id)
	}
	if err := restore.Validate(r.GetSeed(), r.GetTime().AsTime()); err != nil {
		return nil, err
	}
	if err := restore.Reseed(filepath.Join(s.cfg.Dev, "urandom"), r.GetSeed()); err != nil {
		return nil, err
	}
	if err := restore.SetClock(r.GetTime().AsTime()); err != nil {
		return nil, err
	}
	s.log.Info("restored from a template: RNG reseeded, clock set", "time", r.GetTime().AsTime())
	return &protocol.RestoredResponse{}, nil
}
