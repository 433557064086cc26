package server

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/containerd/ttrpc"
	"github.com/kite-vm/kite/agent/server/devices"
	"github.com/kite-vm/kite/agent/server/storage"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestEdgeClassifiesAndRecovers(t *testing.T) {
	ic := edge(slog.New(slog.DiscardHandler))
	info := &ttrpc.UnaryServerInfo{FullMethod: "/kite.agent.v1.Agent/Test"}
	run := func(m ttrpc.Method) error {
		_, err := ic(context.Background(), func(any) error { return nil }, info, m)
		return err
	}
	tests := []struct {
		name string
		err  error
		want codes.Code
	}{
		{"wrapped sentinel", fmt.Errorf("mounting: %w", storage.ErrEscapes), codes.InvalidArgument},
		{"device timeout", &devices.TimeoutError{What: "x"}, codes.DeadlineExceeded},
		{"status kept", status.Error(codes.Aborted, "x"), codes.Aborted},
		{"plain failure", fmt.Errorf("mount: EIO"), codes.Unknown},
		{"success", nil, codes.OK},
	}
	for _, tt := range tests {
		err := run(func(context.Context, func(any) error) (any, error) { return nil, tt.err })
		if got := status.Code(err); got != tt.want {
			t.Errorf("%s: code %v, want %v", tt.name, got, tt.want)
		}
	}
	err := run(func(context.Context, func(any) error) (any, error) { panic("boom") })
	if status.Code(err) != codes.Internal {
		t.Errorf("panic gave %v, want Internal", err)
	}
}
