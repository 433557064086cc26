package server

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/protocol"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestRestoredRefuses(t *testing.T) {
	cfg := testConfig(t)
	cfg.Dev = t.TempDir()
	// A plain file: the ioctls fail on it, so only refusals pass here.
	if err := os.WriteFile(filepath.Join(cfg.Dev, "urandom"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, cfg, harnessOpts{})
	ctx := context.Background()
	seed := make([]byte, 32)
	now := timestamppb.New(time.Now())

	_, err := h.client.Restored(ctx, &protocol.RestoredRequest{Seed: seed})
	wantCode(t, "no time", err, codes.InvalidArgument)
	_, err = h.client.Restored(ctx, &protocol.RestoredRequest{Seed: seed[:16], Time: now})
	wantCode(t, "a 16-byte seed", err, codes.InvalidArgument)
	_, err = h.client.Restored(ctx, &protocol.RestoredRequest{Seed: seed, Time: timestamppb.New(time.Unix(0, 0))})
	wantCode(t, "a time in 1970", err, codes.InvalidArgument)
	if _, err = h.client.Restored(ctx, &protocol.RestoredRequest{Seed: seed, Time: now}); err == nil {
		t.Error("Restored succeeded on a device that is no random device")
	}

	h.svc.mu.Lock()
	h.svc.phase, h.svc.sandboxID = sandboxReady, "sb"
	h.svc.mu.Unlock()
	_, err = h.client.Restored(ctx, &protocol.RestoredRequest{Seed: seed, Time: now})
	wantCode(t, "a guest serving a sandbox", err, codes.FailedPrecondition)
}
