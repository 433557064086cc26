package client

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/kite-vm/kite/agent/protocol"
)

var sentinels = []error{
	ErrNotFound, ErrAlreadyExists, ErrInvalidArgument, ErrFailedPrecondition,
	ErrUnavailable, ErrDeadline, ErrUnimplemented,
}

func TestAgentStatusMapsToSentinel(t *testing.T) {
	tests := []struct {
		code codes.Code
		want error // nil: no sentinel matches
	}{
		{codes.NotFound, ErrNotFound},
		{codes.AlreadyExists, ErrAlreadyExists},
		{codes.InvalidArgument, ErrInvalidArgument},
		{codes.FailedPrecondition, ErrFailedPrecondition},
		{codes.Unavailable, ErrUnavailable},
		{codes.DeadlineExceeded, ErrDeadline},
		{codes.Unimplemented, ErrUnimplemented},
		{codes.Internal, nil},
		{codes.PermissionDenied, nil},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			const msg = `container "c1": something precise`
			fake := newFake(map[string]handler{
				"StartContainer": func(context.Context, proto.Message) (proto.Message, error) {
					return nil, status.Error(tt.code, msg)
				},
			})
			ac := startAgent(t, fake, 0)
			err := ac.client.StartContainer(context.Background(), "c1")
			for _, s := range sentinels {
				if got := errors.Is(err, s); got != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, s, got)
				}
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error", err)
			}
			if e.Method != "StartContainer" || e.Code != tt.code || e.Message != msg {
				t.Errorf("Error = {%q %v %q}, want {StartContainer %v %q}", e.Method, e.Code, e.Message, tt.code, msg)
			}
			if !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "StartContainer") {
				t.Errorf("message %q lost the method or the agent's words", err)
			}
			if s, ok := status.FromError(err); !ok || s.Code() != tt.code {
				t.Errorf("status.FromError(%v) = %v, %v; want code %v", err, s.Code(), ok, tt.code)
			}
		})
	}
}

// blockUntilDone answers only when the call's context ends, like an agent
// stuck on a device that never appears.
func blockUntilDone(ctx context.Context, _ proto.Message) (proto.Message, error) {
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

func TestCallWithoutDeadlineGetsDefault(t *testing.T) {
	fake := newFake(map[string]handler{"StartContainer": blockUntilDone})
	const timeout = 200 * time.Millisecond
	ac := startAgent(t, fake, 0, WithCallTimeout(timeout))
	began := time.Now()
	err := ac.client.StartContainer(context.Background(), "c1")
	elapsed := time.Since(began)
	if !errors.Is(err, ErrDeadline) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked call = %v, want ErrDeadline wrapping context.DeadlineExceeded", err)
	}
	if elapsed < timeout || elapsed > timeout+time.Second {
		t.Errorf("blocked call failed after %v, want about %v", elapsed, timeout)
	}
}

func TestCallerDeadlineWins(t *testing.T) {
	fake := newFake(map[string]handler{"PauseContainer": blockUntilDone})
	ac := startAgent(t, fake, 0, WithCallTimeout(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := ac.client.PauseContainer(ctx, "c1")
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("PauseContainer = %v, want ErrDeadline", err)
	}
	if elapsed := time.Since(began); elapsed > time.Second {
		t.Errorf("PauseContainer failed after %v, want about 100ms", elapsed)
	}
}

func TestCanceledCallIsNotADeadline(t *testing.T) {
	fake := newFake(map[string]handler{"ResumeContainer": blockUntilDone})
	ac := startAgent(t, fake, 0)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	err := ac.client.ResumeContainer(ctx, "c1")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrDeadline) {
		t.Fatalf("ResumeContainer = %v, want context.Canceled and not ErrDeadline", err)
	}
}

// sleepThenAnswer answers after d with an empty response of the method.
func sleepThenAnswer(d time.Duration, resp proto.Message) handler {
	return func(ctx context.Context, _ proto.Message) (proto.Message, error) {
		select {
		case <-time.After(d):
			return resp, nil
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
}

func TestLongPollsHaveNoDefaultDeadline(t *testing.T) {
	fake := newFake(map[string]handler{
		"WaitProcess": sleepThenAnswer(300*time.Millisecond, &protocol.WaitProcessResponse{ExitStatus: 3}),
		"ReadStdout":  sleepThenAnswer(300*time.Millisecond, &protocol.ReadStreamResponse{Data: []byte("x")}),
	})
	ac := startAgent(t, fake, 0, WithCallTimeout(50*time.Millisecond))
	p := ProcessRef{ContainerID: "c1"}
	st, err := ac.client.WaitProcess(context.Background(), p)
	if err != nil || st.Code != 3 {
		t.Errorf("WaitProcess = %+v, %v; want code 3", st, err)
	}
	if _, err := ac.client.ReadStdout(context.Background(), p, 0); err != nil {
		t.Errorf("ReadStdout: %v", err)
	}
}

func TestDeviceWaitExtendsDefaultDeadline(t *testing.T) {
	fake := newFake(map[string]handler{
		"AddDevice": sleepThenAnswer(300*time.Millisecond, &protocol.AddDeviceResponse{GuestName: "vdb"}),
	})
	ac := startAgent(t, fake, 0, WithCallTimeout(100*time.Millisecond))
	dev := &protocol.Device{Id: "d", Kind: protocol.DeviceKind_DEVICE_KIND_BLOCK, GuestPciPath: "02/00"}

	if _, err := ac.client.AddDevice(context.Background(), dev); !errors.Is(err, ErrDeadline) {
		t.Fatalf("AddDevice without a device timeout = %v, want ErrDeadline", err)
	}
	dev.Timeout = durationpb.New(time.Second)
	r, err := ac.client.AddDevice(context.Background(), dev)
	if err != nil || r.GetGuestName() != "vdb" {
		t.Fatalf("AddDevice with a 1s device timeout = %v, %v; want vdb", r, err)
	}
}
