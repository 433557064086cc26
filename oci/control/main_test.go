package control

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a fake sandbox process writing a
// given report, for Spawn's tests.
const helperEnv = "KITE_CONTROL_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "created":
		r, err := OpenReport(ReportFD)
		if err != nil {
			os.Exit(2)
		}
		ReportCreated(r)
		time.Sleep(time.Minute) // the sandbox process outlives create
	case "error":
		r, _ := OpenReport(ReportFD)
		ReportFailure(r, fmt.Errorf("%w: the bundle is bad", ErrInvalidArgument))
	case "exit":
		os.Exit(7)
	}
	os.Exit(0)
}
