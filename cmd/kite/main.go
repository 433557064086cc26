// Command kite is Kite's OCI runtime CLI and host tool.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kite-vm/kite/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, os.Getenv)
	stop()
	os.Exit(code)
}
