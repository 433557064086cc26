// Package logging builds Kite's slog loggers and carries them in a context:
// library packages return errors and never log; the binaries pick the handler
// (text or JSON, level) once and hand the logger down in ctx.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Fixed attribute keys, so logs can be filtered the same way everywhere.
const (
	KeySandbox   = "sandbox"
	KeyContainer = "container"
	KeyDevice    = "device"
	KeyBDF       = "bdf"
	KeyNetdev    = "netdev"
)

type ctxKey struct{}

// New returns a logger writing to w in format "text" or "json" at level
// "debug", "info", "warn" or "error".
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want text or json", format)
	}
}

// WithLogger returns ctx carrying l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From returns the logger in ctx, or one that discards everything.
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
