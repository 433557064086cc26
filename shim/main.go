package shim

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/kite-vm/kite/configs"
	"google.golang.org/protobuf/proto"
)

// Main runs the shim with its arguments (without the program name) and
// returns the exit code: the start action prints the daemon's address on
// stdout, the delete action a DeleteResponse, and the daemon serves.
func Main(args []string, stdout, stderr io.Writer) int {
	if err := run(args, stdout); err != nil {
		fmt.Fprintf(stderr, "containerd-shim-kite-v2: %v\n", err)
		return 1
	}
	return 0
}

func run(args []string, stdout io.Writer) error {
	f, err := ParseFlags(args)
	if err != nil {
		return err
	}
	cfg, err := configs.Load(configs.Locate("", os.Getenv, configs.SystemPath))
	if err != nil {
		return err
	}
	switch f.Action {
	case actionStart:
		address, err := start(f, cfg)
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, address)
		return err
	case actionDelete:
		resp, err := cleanupDead(context.Background(), f, cfg.Runtime.Root)
		if err != nil {
			return err
		}
		data, err := proto.Marshal(resp)
		if err != nil {
			return err
		}
		_, err = stdout.Write(data)
		return err
	}
	return serve(f, cfg)
}
