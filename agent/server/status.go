package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/containerd/ttrpc"
	"github.com/kite-vm/kite/agent/server/cgroup"
	"github.com/kite-vm/kite/agent/server/container"
	"github.com/kite-vm/kite/agent/server/devcgroup"
	"github.com/kite-vm/kite/agent/server/devices"
	"github.com/kite-vm/kite/agent/server/guestconf"
	"github.com/kite-vm/kite/agent/server/kmod"
	"github.com/kite-vm/kite/agent/server/netconf"
	"github.com/kite-vm/kite/agent/server/pcipath"
	"github.com/kite-vm/kite/agent/server/restore"
	"github.com/kite-vm/kite/agent/server/storage"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The service's own error classes; subpackages have theirs, and codeOf
// knows them all.
var (
	ErrInvalid  = errors.New("invalid request")
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrState    = errors.New("wrong state")
	ErrShutdown = errors.New("the sandbox is being destroyed")
)

// classes maps error classes to status codes, most specific first.
var classes = []struct {
	errs []error
	code codes.Code
}{
	{[]error{ErrInvalid, container.ErrInvalidSpec, container.ErrEscapesRoot, storage.ErrInvalid,
		storage.ErrEscapes, pcipath.ErrInvalid, kmod.ErrInvalidName, cgroup.ErrInvalid,
		guestconf.ErrInvalid, netconf.ErrInvalid, devcgroup.ErrInvalid, restore.ErrInvalid}, codes.InvalidArgument},
	{[]error{ErrNotFound, storage.ErrNotFound, netconf.ErrNotFound, kmod.ErrNotFound}, codes.NotFound},
	{[]error{ErrExists, storage.ErrExists, container.ErrExists}, codes.AlreadyExists},
	{[]error{ErrState, container.ErrState, container.ErrExited, container.ErrNoTerminal, storage.ErrBusy,
		devices.ErrNoDriver}, codes.FailedPrecondition},
	{[]error{ErrShutdown, container.ErrNoExitStatus}, codes.Unavailable},
	{[]error{devices.ErrTimeout, context.DeadlineExceeded}, codes.DeadlineExceeded},
	{[]error{context.Canceled}, codes.Canceled},
}

// codeOf classifies err.
func codeOf(err error) codes.Code {
	for _, c := range classes {
		for _, e := range c.errs {
			if errors.Is(err, e) {
				return c.code
			}
		}
	}
	return codes.Unknown
}

// toStatus turns an error into the ttrpc status the host sees.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codeOf(err), err.Error())
}

// edge is the ttrpc interceptor every RPC goes through: it classifies
// errors, logs failures, and turns a panic in a handler into an Internal
// error, so that no request can take the agent (PID 1) down.
func edge(log *slog.Logger) ttrpc.UnaryServerInterceptor {
	return func(ctx context.Context, unmarshal ttrpc.Unmarshaler, info *ttrpc.UnaryServerInfo, method ttrpc.Method) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("panic in RPC", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
				resp, err = nil, status.Error(codes.Internal, fmt.Sprintf("agent panic in %s: %v", info.FullMethod, r))
			}
		}()
		resp, err = method(ctx, unmarshal)
		if err != nil {
			err = toStatus(err)
			log.Debug("RPC failed", "method", info.FullMethod, "err", err)
		}
		return resp, err
	}
}
