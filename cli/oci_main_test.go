package cli

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"testing"
)

// TestMain lets the test binary be kite itself: `kite create` starts the
// sandbox process from os.Executable, which in tests is this binary, with
// the hidden sandbox-daemon command.
func TestMain(m *testing.M) {
	if slices.Contains(os.Args[1:], daemonCommand) {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
