package shim

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestIntegrationCtrRunExitCode: `ctr run --rm` of a container that prints
// and exits 3 prints its output and exits 3, and leaves nothing behind.
func TestIntegrationCtrRunExitCode(t *testing.T) {
	h := requireContainerd(t)
	before := h.snapshot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := h.ctrCmd(ctx, "run", "--runtime", testRuntime, "--rm", testImage, "exit3", "sh", "-c", "echo hi; echo err >&2; exit 3")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("ctr run: %v (want exit status 3)\n%s\ncontainerd log:\n%s", err, out, h.Logs())
	}
	t.Logf("ctr run --rm took %v", time.Since(start))
	if got := string(out); !strings.Contains(got, "hi\n") || !strings.Contains(got, "err\n") {
		t.Errorf("output %q, want hi and err", got)
	}
	h.checkClean(t, before)
}

// TestIntegrationCtrDevicePluginEnv: a container whose device-plugin
// variable names a PCI function this host does not have is refused at
// create, naming it, and leaves nothing (no claim, VM or files) behind.
func TestIntegrationCtrDevicePluginEnv(t *testing.T) {
	h := requireContainerd(t)
	before := h.snapshot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := h.ctrCmd(ctx, "run", "--runtime", testRuntime, "--rm", "--env", "PCIDEVICE_INTEL_COM_SRIOV=0000:ff:1f.7", testImage, "pcidev", "true")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "0000:ff:1f.7") {
		t.Errorf("ctr run with an unknown PCIDEVICE function = %v, want a refusal naming it\n%s", err, out)
	}
	h.ctrCmd(ctx, "task", "delete", "-f", "pcidev").Run()
	h.ctrCmd(ctx, "container", "delete", "pcidev").Run()
	h.checkClean(t, before)
}
