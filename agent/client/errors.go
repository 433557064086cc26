package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors; an *Error matches the one for its Code with errors.Is.
var (
	// ErrNotFound: the agent does not know the container, process,
	// storage, device or link named.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the id is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidArgument: the agent rejected a field of the request.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailedPrecondition: the object is in the wrong state for the call.
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrUnavailable: the agent cannot serve, or the connection is gone.
	ErrUnavailable = errors.New("agent unavailable")
	// ErrDeadline: the call's deadline passed (on either side).
	ErrDeadline = errors.New("deadline exceeded")
	// ErrUnimplemented: the agent does not know the RPC (an older agent).
	ErrUnimplemented = errors.New("not implemented by the agent")
	// ErrProtocolVersion: the agent speaks another protocol version.
	ErrProtocolVersion = errors.New("agent protocol version mismatch")
)

// Error is a failed agent call. It keeps the agent's message and the
// underlying error (a ttrpc status, ttrpc.ErrClosed, or a context error),
// both reachable through errors.Is / errors.As.
type Error struct {
	// Method is the RPC name, e.g. "CreateContainer".
	Method string
	// Code classifies the failure; transport failures are Unavailable,
	// local deadlines DeadlineExceeded, local cancellation Canceled.
	Code codes.Code
	// Message is the agent's description, or the local error's text.
	Message string
	// Err is the error the call returned.
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("agent %s (%s): %s", e.Method, e.Code, e.Message)
}

// Unwrap exposes both the sentinel for Code and the underlying error.
func (e *Error) Unwrap() []error {
	if s := sentinel(e.Code); s != nil {
		return []error{s, e.Err}
	}
	return []error{e.Err}
}

func sentinel(c codes.Code) error {
	switch c {
	case codes.NotFound:
		return ErrNotFound
	case codes.AlreadyExists:
		return ErrAlreadyExists
	case codes.InvalidArgument:
		return ErrInvalidArgument
	case codes.FailedPrecondition:
		return ErrFailedPrecondition
	case codes.Unavailable:
		return ErrUnavailable
	case codes.DeadlineExceeded:
		return ErrDeadline
	case codes.Unimplemented:
		return ErrUnimplemented
	}
	return nil
}

// wrapError classifies err, returned by the ttrpc call for method under
// ctx.
func wrapError(ctx context.Context, method string, err error) error {
	if err == nil {
		return nil
	}
	// The agent enforces the deadline the request carries and may report
	// it before the client notices: name the local cause either way, so
	// that errors.Is(err, context.DeadlineExceeded) does not depend on who
	// won the race.
	if cause := localCause(ctx); cause != nil {
		if c := status.Code(err); c == codes.DeadlineExceeded || c == codes.Canceled {
			err = cause
		}
	}
	e := &Error{Method: method, Err: err, Message: err.Error()}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		e.Code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		e.Code = codes.Canceled
	case errors.Is(err, ttrpc.ErrClosed), errors.Is(err, ttrpc.ErrServerClosed):
		e.Code = codes.Unavailable
	default:
		if s, ok := status.FromError(err); ok {
			e.Code, e.Message = s.Code(), s.Message()
		} else {
			e.Code = codes.Unknown
		}
	}
	return e
}

// localCause returns why ctx is over, also in the instant between its
// deadline passing and ctx.Err being set (the timer runs in a goroutine).
func localCause(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// connClosed reports whether err means the connection itself is gone, so
// retrying on it is pointless.
func connClosed(err error) bool {
	return errors.Is(err, ttrpc.ErrClosed) || errors.Is(err, ttrpc.ErrServerClosed)
}
