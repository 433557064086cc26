package client

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kite-vm/kite/agent/protocol"
)

func checkAnswer(agentVersion string, protoVersion uint32) handler {
	return func(context.Context, proto.Message) (proto.Message, error) {
		return &protocol.CheckResponse{AgentVersion: agentVersion, ProtocolVersion: protoVersion}, nil
	}
}

// TestWaitReadyServerStartsLate models a guest that boots while the host
// already polls: Check requests pile up in the socket, the agent starts,
// answers all of them, and only the reply to the live attempt may count.
func TestWaitReadyServerStartsLate(t *testing.T) {
	const bootDelay = 400 * time.Millisecond
	// Requests the agent reads in its first burst are the ones that waited
	// in the socket: hold their replies until WaitReady has returned, so
	// they reach the client on streams it has given up.
	var (
		release  = make(chan struct{})
		held     atomic.Int32 // stale requests received
		answered atomic.Int32 // stale requests answered
		once     sync.Once
		t0       time.Time
	)
	firstBurst := func() bool {
		once.Do(func() { t0 = time.Now() })
		return time.Since(t0) < 50*time.Millisecond
	}
	fake := newFake(map[string]handler{
		"Check": func(ctx context.Context, _ proto.Message) (proto.Message, error) {
			if firstBurst() {
				held.Add(1)
				defer answered.Add(1)
				<-release
				return &protocol.CheckResponse{AgentVersion: "stale", ProtocolVersion: protocol.Version}, nil
			}
			return &protocol.CheckResponse{AgentVersion: "fresh", ProtocolVersion: protocol.Version}, nil
		},
		"Version": func(context.Context, proto.Message) (proto.Message, error) {
			return &protocol.VersionResponse{AgentVersion: "version-reply"}, nil
		},
	})
	ac := startAgent(t, fake, bootDelay, WithReadyBackoff(40*time.Millisecond, 200*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	began := time.Now()
	info, err := ac.client.WaitReady(ctx)
	elapsed := time.Since(began)
	if err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if info.AgentVersion != "fresh" || info.ProtocolVersion != protocol.Version {
		t.Errorf("WaitReady = %+v, want the live attempt's reply (fresh, %d)", info, protocol.Version)
	}
	if elapsed < bootDelay {
		t.Errorf("WaitReady returned after %v, before the agent started (%v)", elapsed, bootDelay)
	}
	if held.Load() == 0 {
		t.Fatal("no Check request waited in the socket: the test did not model a late agent")
	}

	// Let the stale replies go out, then check that they were dropped
	// rather than taken for answers to new calls.
	close(release)
	for answered.Load() < held.Load() {
		time.Sleep(time.Millisecond)
	}
	for range 3 {
		v, err := ac.client.Version(ctx)
		if err != nil {
			t.Fatalf("Version after stale replies: %v", err)
		}
		if v.GetAgentVersion() != "version-reply" {
			t.Fatalf("Version got %q: a stale reply was matched to a new call", v.GetAgentVersion())
		}
		if info, err := ac.client.Check(ctx); err != nil || info.AgentVersion != "fresh" {
			t.Fatalf("Check after stale replies = %+v, %v; want fresh", info, err)
		}
	}
	t.Logf("ready after %v; %d queued Check requests answered late and ignored", elapsed, held.Load())
}

func TestWaitReadyGivesUpAtDeadline(t *testing.T) {
	ac := startAgent(t, newFake(nil), time.Hour, WithReadyBackoff(20*time.Millisecond, 100*time.Millisecond))
	const limit = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	began := time.Now()
	_, err := ac.client.WaitReady(ctx)
	elapsed := time.Since(began)
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("WaitReady against a silent agent = %v, want ErrDeadline", err)
	}
	if elapsed < limit || elapsed > limit+time.Second {
		t.Errorf("WaitReady gave up after %v, want about %v", elapsed, limit)
	}
}

func TestWaitReadyRetriesUnavailable(t *testing.T) {
	var n atomic.Int32
	fake := newFake(map[string]handler{
		"Check": func(context.Context, proto.Message) (proto.Message, error) {
			if n.Add(1) < 3 {
				return nil, status.Error(codes.Unavailable, "still starting")
			}
			return &protocol.CheckResponse{AgentVersion: "v", ProtocolVersion: protocol.Version}, nil
		},
	})
	ac := startAgent(t, fake, 0, WithReadyBackoff(10*time.Millisecond, 50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ac.client.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if got := n.Load(); got != 3 {
		t.Errorf("agent saw %d Check calls, want 3", got)
	}
}

func TestWaitReadyRefusesOtherProtocolVersion(t *testing.T) {
	fake := newFake(map[string]handler{"Check": checkAnswer("old", protocol.Version+1)})
	ac := startAgent(t, fake, 0)
	info, err := ac.client.WaitReady(context.Background())
	if !errors.Is(err, ErrProtocolVersion) {
		t.Fatalf("WaitReady = %v, want ErrProtocolVersion", err)
	}
	if info.AgentVersion != "old" {
		t.Errorf("WaitReady info = %+v, want the agent's answer", info)
	}
}

func TestWaitReadyStopsWhenConnectionCloses(t *testing.T) {
	ac := startAgent(t, newFake(nil), time.Hour, WithReadyBackoff(20*time.Millisecond, 50*time.Millisecond))
	time.AfterFunc(100*time.Millisecond, func() { ac.guest.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	began := time.Now()
	_, err := ac.client.WaitReady(ctx)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("WaitReady on a closed connection = %v, want ErrUnavailable", err)
	}
	if elapsed := time.Since(began); elapsed > 2*time.Second {
		t.Errorf("WaitReady took %v to notice the closed connection", elapsed)
	}
}
