package configs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors, usable with errors.Is on anything this package returns.
var (
	// ErrSyntax: the file is not well-formed TOML.
	ErrSyntax = errors.New("malformed TOML")
	// ErrUnknownKey: a key or section that Kite does not know (often a typo).
	ErrUnknownKey = errors.New("unknown key")
	// ErrType: a value of the wrong TOML type (a string where an integer goes).
	ErrType = errors.New("wrong type")
	// ErrInvalid: a value of the right type that Kite cannot use.
	ErrInvalid = errors.New("invalid value")
	// ErrPath: a configured binary or file is missing or unusable.
	ErrPath = errors.New("unusable path")
	// ErrNotAllowed: a pod annotation tries to set a knob outside the allowlist.
	ErrNotAllowed = errors.New("not allowed")
)

// Error locates one problem in a configuration. File and Line are empty when
// the problem does not come from a file (an annotation, a Config built in Go)
// or when the key is not written in the file (its value is a default).
type Error struct {
	File   string // path of the file, "" if none
	Line   int    // 1-based line of the key, 0 if unknown
	Column int    // 1-based column, set for syntax errors only
	Key    string // dotted key ("hypervisor.vcpus") or annotation name
	Err    error  // wraps one of the sentinels above
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
			if e.Column > 0 {
				b.WriteString(":" + strconv.Itoa(e.Column))
			}
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// keyError builds an Error for a key with a message wrapping sentinel.
func keyError(key string, sentinel error, format string, args ...any) *Error {
	return &Error{Key: key, Err: fmt.Errorf("%w"+format, append([]any{sentinel}, args...)...)}
}

// flatten lists the leaves of a tree of errors.Join results, in order.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}
