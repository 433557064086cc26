package vmtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/kite-vm/kite/agent/client"
)

// reconnectTimeout bounds the wait for QEMU to reconnect the agent channel
// (it retries every second) and for the agent to answer on it.
const reconnectTimeout = 30 * time.Second

// takeOverAgentSocket listens on the agent socket's path in place of the
// machine's listener, which vm.Boot keeps to itself once the agent
// connected: QEMU reconnects by path, so the new listener gets the next
// connection. The machine's listener stays open, unreachable, until Stop.
func (v *VM) takeOverAgentSocket(t testing.TB) {
	t.Helper()
	path := v.Plan.Agent.SocketPath
	if err := os.Remove(path); err != nil {
		v.fail(t, "taking over the agent socket: %v", err)
	}
	ln, err := client.ListenSerial(path)
	if err != nil {
		v.fail(t, "taking over the agent socket: %v", err)
	}
	v.agentLn = ln
}

// Reconnect waits for QEMU to reconnect the agent channel after the host
// closed it (Options.AgentReconnect) and returns a client on the new
// connection, which also replaces v.Agent.
func (v *VM) Reconnect(t testing.TB) *client.Client {
	t.Helper()
	if v.agentLn == nil || v.Machine == nil {
		t.Fatal("Reconnect needs a VM started with Options.AgentReconnect")
	}
	ctx, cancel := context.WithTimeout(context.Background(), reconnectTimeout)
	defer cancel()
	conn, err := v.agentLn.Accept(ctx)
	if err != nil {
		v.fail(t, "QEMU did not reconnect the agent channel: %v", err)
	}
	// One long attempt, as vm.Boot does over virtio-serial: short ones
	// leave stale requests that the agent answers late.
	agent := client.New(conn, client.WithReadyBackoff(reconnectTimeout, reconnectTimeout))
	t.Cleanup(func() { agent.Close() })
	v.Agent = agent
	if _, err := agent.WaitReady(ctx); err != nil {
		v.fail(t, "agent not ready on the new connection: %v", err)
	}
	return agent
}
