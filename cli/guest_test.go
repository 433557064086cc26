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

func TestGuestBuildBadKernel(t *testing.T) {
	out := t.TempDir()
	code, _, errOut := run(t, nil, "guest", "build", "--out", out, "--agent", "/bin/true", "--kernel", "fedora")
	if code == 0 || !strings.Contains(errOut, `kernel "fedora"`) || !strings.Contains(errOut, `"debian"`) {
		t.Errorf("kite guest build --kernel fedora = %d, stderr %q; want a refusal listing the kernels", code, errOut)
	}
	code, _, errOut = run(t, nil, "guest", "build", "--out", out, "--agent", "/bin/true", "--kernel", "debian", "--kernel-config", "/x.config")
	if code == 0 || !strings.Contains(errOut, "fragments are for the \"kite\" kernel") {
		t.Errorf("kite guest build --kernel debian --kernel-config = %d, stderr %q; want a refusal", code, errOut)
	}
}
