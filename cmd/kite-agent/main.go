// Command kite-agent is Kite's guest agent: PID 1 of the VM, serving the
// agent API to the host over ttrpc. It is built static (CGO_ENABLED=0).
package main

import (
	"context"
	"os"
	"runtime/debug"

	"github.com/kite-vm/kite/agent/server"
	"github.com/kite-vm/kite/agent/server/container"
)

func main() {
	// The agent re-executes itself as the container stage; that must be
	// decided before anything else runs.
	if container.IsStage() {
		container.StageMain()
	}
	// The agent lives in the guest's small memory for the VM's lifetime and
	// its live heap is small: a tighter GC target keeps its RSS down
	// (measured after 100 execs: 12.2 MiB at GOGC=100, 10.1 MiB at 25, with
	// no loss in exec latency; a 4 MiB soft memory limit saved 1 MiB more
	// but cost 60% exec latency, so it is not set).
	debug.SetGCPercent(25)
	os.Exit(server.Main(context.Background()))
}
