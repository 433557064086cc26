package cli

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"testing"
)

// cliHelperEnv makes the test binary run as the kite command, for tests
// that need kite in a process of its own (whose orphans they reap).
const cliHelperEnv = "KITE_TEST_RUN_CLI"

// TestMain lets the test binary be kite itself: `kite create` starts the
// sandbox process and the init proxy from os.Executable, which in tests is
// this binary, with the hidden sandbox-daemon and init-proxy commands.
func TestMain(m *testing.M) {
	if slices.Contains(os.Args[1:], daemonCommand) || slices.Contains(os.Args[1:], initProxyCommand) ||
		slices.Contains(os.Args[1:], poolDaemonCommand) || os.Getenv(cliHelperEnv) != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, os.Args[1:], IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
