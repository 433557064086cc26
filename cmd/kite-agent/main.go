// Command kite-agent is Kite's guest agent: PID 1 of the VM, serving the
// agent API to the host over ttrpc. It is built static (CGO_ENABLED=0).
package main

import (
	"context"
	"os"

	"github.com/kite-vm/kite/agent/server"
	"github.com/kite-vm/kite/agent/server/container"
)

func main() {
	// The agent re-executes itself as the container stage; that must be
	// decided before anything else runs.
	if container.IsStage() {
		container.StageMain()
	}
	os.Exit(server.Main(context.Background()))
}
