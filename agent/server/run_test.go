package server

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/ttrpc"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/agent/server/bootopts"
	"github.com/kite-vm/kite/agent/server/internal/porttest"
)

// syncBuffer is a log sink safe for the agent's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunServesOverSerialPort runs the whole agent (not as PID 1) on a fake
// virtio-serial port: the host reaches it, drops the connection, and
// reaches it again; a bad module list is logged, not fatal.
func TestRunServesOverSerialPort(t *testing.T) {
	cfg := testConfig(t)
	cfg.Dev = t.TempDir()
	porttest.Announce(t, cfg.Sysfs, "agent0")
	host := porttest.ConnectHost(t, cfg.Dev)
	list := filepath.Join(t.TempDir(), "modules.load")
	if err := os.WriteFile(list, []byte("/lib/modules/test/kernel/missing_mod.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	opts := bootopts.Default()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Boot{Config: cfg, Options: opts, ModulesList: list,
			Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	}()

	check := func(host *os.File) {
		t.Helper()
		c := protocol.NewAgentClient(ttrpc.NewClient(porttest.Conn{File: host}))
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		if _, err := c.Check(rctx, &protocol.CheckRequest{}); err != nil {
			t.Fatalf("Check: %v\nagent log:\n%s", err, logs.String())
		}
	}
	check(host)
	host.Close()
	check(porttest.ConnectHost(t, cfg.Dev))

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	for _, want := range []string{"missing_mod", "kite-agent ready"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("agent log lacks %q:\n%s", want, logs.String())
		}
	}
	if _, err := os.Stat(cfg.StorageRoot); err != nil {
		t.Errorf("storage root not created: %v", err)
	}
}
