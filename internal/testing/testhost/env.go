package testhost

import "os"

// InsideEnv is set to "1" in the environment of a test binary that Run
// started inside the test host.
const InsideEnv = "KITE_IN_TESTHOST"

// Inside reports whether this process runs inside the test host.
func Inside() bool { return os.Getenv(InsideEnv) == "1" }
