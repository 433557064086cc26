package control

import (
	"errors"
	"fmt"

	"github.com/kite-vm/kite/sandbox"
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
	// ErrAlreadyExists: the exec id, volume or interface is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrUnsupported: something a VM runtime does not do.
	ErrUnsupported = errors.New("not supported")
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
	CodeAlreadyExists      Code = "already-exists"
	CodeUnsupported        Code = "unsupported"
	CodeInternal           Code = "internal"
)

var codeSentinels = []struct {
	code Code
	err  error
}{
	{CodeNotFound, ErrNotFound},
	{CodeInvalidArgument, ErrInvalidArgument},
	{CodeFailedPrecondition, ErrFailedPrecondition},
	{CodeAlreadyExists, ErrAlreadyExists},
	{CodeUnsupported, ErrUnsupported},
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

// ToError classifies err for the wire: the engine's classification
// (sandbox.Classify) decides the code; an *Error keeps its own.
func ToError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Code: e.Code, Message: err.Error()}
	}
	code := CodeInternal
	switch sandbox.Classify(err) {
	case sandbox.ErrNotFound:
		code = CodeNotFound
	case sandbox.ErrInvalidArgument:
		code = CodeInvalidArgument
	case sandbox.ErrFailedPrecondition:
		code = CodeFailedPrecondition
	case sandbox.ErrAlreadyExists:
		code = CodeAlreadyExists
	case sandbox.ErrUnsupported:
		code = CodeUnsupported
	}
	for _, c := range codeSentinels {
		if code == CodeInternal && c.code != CodeInternal && errors.Is(err, c.err) {
			code = c.code
		}
	}
	return &Error{Code: code, Message: err.Error()}
}
