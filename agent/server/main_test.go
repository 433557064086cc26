package server

import (
	"os"
	"testing"

	"github.com/kite-vm/kite/agent/server/container"
)

// TestMain lets the test binary double as the container stage, which the
// container package starts by re-executing /proc/self/exe.
func TestMain(m *testing.M) {
	if container.IsStage() {
		container.StageMain()
	}
	os.Exit(m.Run())
}
