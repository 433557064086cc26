package configs

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Duration is a time.Duration written in TOML and JSON as a Go duration
// string ("5s", "1m30s", "250ms").
type Duration time.Duration

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("%w %q: accepted values: a duration such as \"5s\", \"1m30s\", \"250ms\"", ErrInvalid, text)
	}
	*d = Duration(v)
	return nil
}

// parseEnum sets *dst to text if text is one of accepted.
func parseEnum[T ~string](dst *T, text []byte, accepted []T) error {
	v := T(text)
	if !slices.Contains(accepted, v) {
		return fmt.Errorf("%w %q: accepted values: %s", ErrInvalid, text, listEnum(accepted))
	}
	*dst = v
	return nil
}

func listEnum[T ~string](values []T) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(quoted, ", ")
}

// The checks below return nil or an *Error for key; Validate methods join them.

func oneOf[T ~string](key string, v T, accepted []T) error {
	if slices.Contains(accepted, v) {
		return nil
	}
	return keyError(key, ErrInvalid, " %q: accepted values: %s", v, listEnum(accepted))
}

func inRange(key string, v, lo, hi int) error {
	if v >= lo && v <= hi {
		return nil
	}
	return keyError(key, ErrInvalid, " %d: accepted values: %d..%d", v, lo, hi)
}

// zeroOrRange accepts 0 (meaning "automatic" or "inherit") or lo..hi.
func zeroOrRange(key string, v, lo, hi int) error {
	if v == 0 || (v >= lo && v <= hi) {
		return nil
	}
	return keyError(key, ErrInvalid, " %d: accepted values: 0 or %d..%d", v, lo, hi)
}

func durationRange(key string, d Duration, lo, hi time.Duration) error {
	if v := d.Duration(); v >= lo && v <= hi {
		return nil
	}
	return keyError(key, ErrInvalid, " %q: accepted values: %s..%s", d.Duration(), lo, hi)
}

func absPath(key, p string) error {
	if filepath.IsAbs(p) && filepath.Clean(p) == p {
		return nil
	}
	return keyError(key, ErrInvalid, " %q: accepted values: an absolute, clean path", p)
}

// relOrAbsPath accepts a clean path, relative (to a directory chosen by the
// caller) or absolute.
func relOrAbsPath(key, p string) error {
	if p != "" && filepath.Clean(p) == p {
		return nil
	}
	return keyError(key, ErrInvalid, " %q: accepted values: a clean file path, absolute or relative", p)
}

// token accepts a non-empty string of printable characters without spaces,
// fit to be one argv element or one kernel command-line word.
func token(key, s string) error {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) < 0 {
		return nil
	}
	return keyError(key, ErrInvalid, " %q: accepted values: a non-empty string without spaces or control characters", s)
}
