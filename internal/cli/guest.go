package cli

import (
	"context"
	"fmt"
)

func runGuest(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "build" {
		return fmt.Errorf("%w: want 'kite guest build [--out DIR]'", errUsage)
	}
	return runGuestBuild(ctx, e, args[1:])
}

func runGuestBuild(_ context.Context, _ *env, _ []string) error {
	return fmt.Errorf("guest build: not wired yet")
}
