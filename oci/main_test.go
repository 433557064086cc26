package oci

import (
	"os"
	"testing"
	"time"
)

// helperEnv makes the test binary sleep: a stand-in for QEMU whose command
// line names a directory, in CleanupDead's test.
const helperEnv = "KITE_OCI_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "sleep" {
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
