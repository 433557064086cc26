package shim

import (
	"flag"
	"fmt"
	"github.com/kite-vm/kite/sandbox"
	"io"
)

// Flags are what containerd passes on the shim's command line:
// `SHIM -namespace NS -address GRPC.sock -publish-binary BIN -id ID
// [-debug] [-bundle B] start|delete`, in the bundle directory, with
// TTRPC_ADDRESS in the environment. Without an action the binary is the
// daemon that start spawned.
type Flags struct {
	Namespace     string
	Address       string // containerd's gRPC socket
	PublishBinary string // containerd's binary, run as `publish`
	ID            string
	Bundle        string // delete only; start runs in the bundle
	Debug         bool
	// Action is "start", "delete" or "" for the daemon.
	Action string
}

// Actions.
const (
	actionStart  = "start"
	actionDelete = "delete"
	actionDaemon = ""
)

// ParseFlags parses the shim's arguments (without the program name).
func ParseFlags(args []string) (Flags, error) {
	var f Flags
	fs := flag.NewFlagSet("containerd-shim-kite-v2", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.Namespace, "namespace", "", "containerd namespace")
	fs.StringVar(&f.Address, "address", "", "containerd's gRPC address")
	fs.StringVar(&f.PublishBinary, "publish-binary", "containerd", "binary that publishes events")
	fs.StringVar(&f.ID, "id", "", "task id")
	fs.StringVar(&f.Bundle, "bundle", "", "bundle path (delete)")
	fs.BoolVar(&f.Debug, "debug", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return f, fmt.Errorf("%w: %v", sandbox.ErrInvalidArgument, err)
	}
	switch rest := fs.Args(); {
	case len(rest) > 1:
		return f, errorf(sandbox.ErrInvalidArgument, "one action expected, got %q", rest)
	case len(rest) == 1:
		f.Action = rest[0]
	}
	switch {
	case f.Action != actionStart && f.Action != actionDelete && f.Action != actionDaemon:
		return f, errorf(sandbox.ErrInvalidArgument, "unknown action %q (want start or delete)", f.Action)
	case f.Namespace == "":
		return f, errorf(sandbox.ErrInvalidArgument, "-namespace is required")
	case f.ID == "":
		return f, errorf(sandbox.ErrInvalidArgument, "-id is required")
	case f.Address == "":
		return f, errorf(sandbox.ErrInvalidArgument, "-address is required")
	}
	return f, nil
}

// daemonArgs are the daemon's arguments: the same, without an action.
func (f Flags) daemonArgs() []string {
	args := []string{"-namespace", f.Namespace, "-address", f.Address, "-publish-binary", f.PublishBinary, "-id", f.ID}
	if f.Debug {
		args = append(args, "-debug")
	}
	return args
}
