package oci

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a helper process: a fake sandbox
// process writing a given report, or a long sleeper whose command line
// names a directory (a stand-in for QEMU in CleanupDead's tests).
const helperEnv = "KITE_SANDBOX_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "created":
		r, err := OpenReport(ReportFD)
		if err != nil {
			os.Exit(2)
		}
		writeReport(r, report{Created: true})
		time.Sleep(time.Minute) // the sandbox process outlives create
	case "error":
		r, _ := OpenReport(ReportFD)
		ReportFailure(r, fmt.Errorf("%w: the bundle is bad", ErrInvalidArgument))
	case "exit":
		os.Exit(7)
	case "sleep":
		time.Sleep(time.Minute)
	}
	os.Exit(0)
}
