package tasks

import (
	"errors"
	"fmt"

	"github.com/kite-vm/kite/sandbox"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
)

// errNotImplemented: an operation a VM runtime does not offer (checkpoint
// and restore).
var errNotImplemented = errors.New("not implemented")

// toStatus turns an error into the ttrpc status containerd understands:
// the engine's classification (sandbox.Classify) decides the code, the
// codes containerd's errdefs map back to its own errors. It is called at
// the service's edge, and only there.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	return grpcstatus.Error(codeOf(err), err.Error())
}

func codeOf(err error) codes.Code {
	if errors.Is(err, errNotImplemented) {
		return codes.Unimplemented
	}
	switch sandbox.Classify(err) {
	case sandbox.ErrNotFound:
		return codes.NotFound
	case sandbox.ErrAlreadyExists:
		return codes.AlreadyExists
	case sandbox.ErrInvalidArgument:
		return codes.InvalidArgument
	case sandbox.ErrFailedPrecondition:
		return codes.FailedPrecondition
	case sandbox.ErrUnsupported:
		return codes.Unimplemented
	case sandbox.ErrUnavailable:
		return codes.Unavailable
	}
	return codes.Unknown
}

// errorf builds an error of an engine sentinel, for the shim's own checks.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
