package protocol_test

import (
	"os/exec"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

// TestGeneratedCodeIsCurrent fails when agent.proto changed without
// regenerating agent.pb.go and agent_ttrpc.pb.go.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	testutil.RequireBinary(t, "protoc", "protobuf-compiler")
	bash := testutil.RequireBinary(t, "bash", "bash")
	out, err := exec.Command(bash, "generate.sh", "--check").CombinedOutput()
	if err != nil {
		t.Fatalf("generate.sh --check: %v\n%s", err, out)
	}
}
