package oci

import (
	"errors"
	"fmt"

	"github.com/kite-vm/kite/agent/client"
)

// Sentinel errors, usable with errors.Is on what this package returns,
// including the errors a Client gets back from the sandbox process.
var (
	// ErrNotFound: the sandbox, or the process named, does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidArgument: a request field the sandbox process cannot use
	// (a signal number, an exec id, a process spec).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailedPrecondition: the container is in the wrong state for the
	// request (start of a running container, exec in a stopped one).
	ErrFailedPrecondition = errors.New("failed precondition")
	// ErrInternal: anything else (the VM, the agent, the host failed).
	ErrInternal = errors.New("internal error")
	// ErrUnavailable: the sandbox process does not answer on its control
	// socket (it has exited, or is not a Kite sandbox process).
	ErrUnavailable = errors.New("sandbox process unavailable")
	// ErrDaemonExited: the sandbox process exited before it reported
	// whether the sandbox was created.
	ErrDaemonExited = errors.New("sandbox process exited")
)

// Code classifies a failed request on the wire, so that the CLI can answer
// like runc whatever process the error came from.
type Code string

// Codes, one per sentinel.
const (
	CodeNotFound           Code = "not-found"
	CodeInvalidArgument    Code = "invalid-argument"
	CodeFailedPrecondition Code = "failed-precondition"
	CodeInternal           Code = "internal"
)

var codeSentinels = []struct {
	code Code
	err  error
}{
	{CodeNotFound, ErrNotFound},
	{CodeInvalidArgument, ErrInvalidArgument},
	{CodeFailedPrecondition, ErrFailedPrecondition},
	{CodeInternal, ErrInternal},
}

// Error is a failure reported by the sandbox process: over the control
// socket, or on the report pipe while it creates the sandbox. It matches the
// sentinel of its Code with errors.Is.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Is matches the sentinel of e's code.
func (e *Error) Is(target error) bool {
	for _, s := range codeSentinels {
		if s.code == e.Code {
			return target == s.err
		}
	}
	return target == ErrInternal
}

// errorf builds an *Error of the given code.
func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// toError classifies err for the wire: the first sentinel (ours, or the
// agent client's) it matches decides the code.
func toError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Code: e.Code, Message: err.Error()}
	}
	code := CodeInternal
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, client.ErrNotFound):
		code = CodeNotFound
	case errors.Is(err, ErrInvalidArgument), errors.Is(err, client.ErrInvalidArgument):
		code = CodeInvalidArgument
	case errors.Is(err, ErrFailedPrecondition), errors.Is(err, client.ErrFailedPrecondition):
		code = CodeFailedPrecondition
	}
	return &Error{Code: code, Message: err.Error()}
}
