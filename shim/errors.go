package shim

import (
	"errors"
	"fmt"

	"github.com/kite-vm/kite/agent/client"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
)

// Sentinel errors, classified once here and turned into ttrpc status codes
// only at the service's edge (toStatus), the codes containerd's errdefs
// map back to its own errors.
var (
	// ErrNotFound: no task or exec with that id.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the task or exec id is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidArgument: a request field the shim cannot use.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailedPrecondition: the task is in the wrong state for the call
	// (start before create, exec into a stopped container...).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrNotImplemented: an operation a VM runtime does not offer
	// (checkpoint and restore).
	ErrNotImplemented = errors.New("not implemented")
)

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// toStatus turns an error into the ttrpc status containerd understands.
// Agent errors keep their own code: a process the agent does not know is
// NotFound to containerd too.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := grpcstatus.FromError(err); ok && !isWrapped(err) {
		return err
	}
	return grpcstatus.Error(codeOf(err), err.Error())
}

func isWrapped(err error) bool { return errors.Unwrap(err) != nil }

func codeOf(err error) codes.Code {
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, client.ErrNotFound):
		return codes.NotFound
	case errors.Is(err, ErrAlreadyExists), errors.Is(err, client.ErrAlreadyExists):
		return codes.AlreadyExists
	case errors.Is(err, ErrInvalidArgument), errors.Is(err, client.ErrInvalidArgument):
		return codes.InvalidArgument
	case errors.Is(err, ErrFailedPrecondition), errors.Is(err, client.ErrFailedPrecondition):
		return codes.FailedPrecondition
	case errors.Is(err, ErrNotImplemented), errors.Is(err, client.ErrUnimplemented):
		return codes.Unimplemented
	case errors.Is(err, client.ErrUnavailable):
		return codes.Unavailable
	case errors.Is(err, client.ErrDeadline):
		return codes.DeadlineExceeded
	}
	return codes.Unknown
}
