package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/kite-vm/kite/oci/control"
)

// sandboxCommand parses the flags and positional arguments of a command
// that talks to a running container's sandbox process (network, volume):
// the container id, then one argument per name. It returns the client and
// the positional arguments.
func sandboxCommand(ctx context.Context, e *env, fs *flag.FlagSet, args []string, names ...string) (*control.Client, []string, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, err
	}
	want := append([]string{"a container id"}, names...)
	if fs.NArg() != len(want) {
		return nil, nil, fmt.Errorf("%w: want %s, got %d arguments", errUsage, strings.Join(want, ", "), fs.NArg())
	}
	c, err := e.openContainer(ctx, fs.Arg(0), false)
	if err != nil {
		return nil, nil, err
	}
	cl, err := c.client()
	return cl, fs.Args(), err
}

// ms renders a duration for people, to the millisecond.
func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
