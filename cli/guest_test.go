package cli

import (
	"strings"
	"testing"
)

func TestGuestBuildBadFormat(t *testing.T) {
	out := t.TempDir()
	code, _, errOut := run(t, nil, "guest", "build", "--out", out, "--agent", "/bin/true", "--format", "qcow2")
	if code == 0 || !strings.Contains(errOut, `format "qcow2"`) || !strings.Contains(errOut, `"nvdimm"`) {
		t.Errorf("kite guest build --format qcow2 = %d, stderr %q; want a refusal listing the formats", code, errOut)
	}
}
