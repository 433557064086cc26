package spec

import (
	"errors"
	"fmt"
)

// Sentinel errors, usable with errors.Is on what this package returns.
var (
	// ErrInvalidBundle: the bundle or its config.json cannot be read or is
	// not a valid OCI configuration.
	ErrInvalidBundle = errors.New("invalid bundle")
	// ErrInvalidSpec: a field of the spec holds a value no runtime could
	// use (a relative cwd, an unknown rlimit).
	ErrInvalidSpec = errors.New("invalid spec")
	// ErrUnsupported: the spec asks for something Kite does not do (yet),
	// and ignoring it would change what the container sees.
	ErrUnsupported = errors.New("not supported")
	// ErrInvalidSignal: ParseSignal could not make sense of its input.
	ErrInvalidSignal = errors.New("invalid signal")
)

// FieldError is a spec field Convert refuses. Its message is meant for the
// person who wrote the spec: the field as it is spelled in config.json,
// then why.
type FieldError struct {
	// Field is the JSON path of the field, e.g. "mounts[3]" or
	// "linux.namespaces[1]".
	Field string
	// Reason is one sentence saying what is wrong.
	Reason string
	// Err is ErrUnsupported or ErrInvalidSpec.
	Err error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

func unsupported(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrUnsupported}
}

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrInvalidSpec}
}

// invalidBundle is an error of Load: its message stands alone, and it
// matches ErrInvalidBundle.
type invalidBundle struct{ msg string }

func (e *invalidBundle) Error() string { return e.msg }

func (e *invalidBundle) Unwrap() error { return ErrInvalidBundle }

func bundleError(format string, args ...any) error {
	return &invalidBundle{msg: fmt.Sprintf(format, args...)}
}
