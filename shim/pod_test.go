package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntegrationPod: a sandbox container and a container of the same pod
// (the CRI annotations, set here with ctr) share one shim and one VM; the
// container's bind mount of a host directory is visible in the guest; the
// shim and the VM go when the last task is deleted.
func TestIntegrationPod(t *testing.T) {
	h := requireContainerd(t)
	before := h.snapshot(t)
	const pod, app = "pod1", "pod1-app"
	h.ctr(t, "run", "-d", "--runtime", testRuntime,
		"--annotation", annotationContainerType+"=sandbox", "--annotation", annotationSandboxID+"="+pod,
		testImage, pod, "sleep", "1000")
	hostDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(hostDir, "greeting"), []byte("from-the-host"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.ctr(t, "run", "-d", "--runtime", testRuntime,
		"--annotation", annotationContainerType+"="+containerTypeContainer, "--annotation", annotationSandboxID+"="+pod,
		"--mount", "type=bind,src="+hostDir+",dst=/host,options=rbind:ro",
		testImage, app, "sleep", "1000")
	for _, id := range []string{pod, app} { // cleanups run last first: the app goes first
		h.removeOnCleanup(t, id)
	}
	addr := func(id string) string {
		data, err := os.ReadFile(filepath.Join(h.bundle(id), addressFile))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if addr(pod) != addr(app) {
		t.Errorf("two shims for one pod: %s and %s", addr(pod), addr(app))
	}
	bootID := func(id string) string {
		out, code := h.exitCode(t, "task", "exec", "--exec-id", "boot", id, "cat", "/proc/sys/kernel/random/boot_id")
		if code != 0 {
			t.Fatalf("exec in %s: %d %s", id, code, out)
		}
		return strings.TrimSpace(out)
	}
	if a, b := bootID(pod), bootID(app); a != b {
		t.Errorf("boot ids %s and %s: the pod's containers run in two VMs", a, b)
	}
	if out, code := h.exitCode(t, "task", "exec", "--exec-id", "bind", app, "cat", "/host/greeting"); code != 0 || out != "from-the-host" {
		t.Errorf("bind mount in the guest: %d, %q", code, out)
	}
	if out, code := h.exitCode(t, "task", "exec", "--exec-id", "ro", app, "sh", "-c", "echo x > /host/new"); code == 0 {
		t.Errorf("wrote through a read-only bind mount: %q", out)
	}
	// The app container goes first, as the CRI plugin does it: the VM
	// stays for the sandbox.
	h.ctr(t, "task", "kill", "-s", "SIGKILL", app)
	h.waitStopped(t, app)
	h.ctr(t, "task", "delete", app)
	h.ctr(t, "container", "delete", app)
	if ls := h.ctr(t, "task", "ls"); !strings.Contains(ls, pod) || !strings.Contains(ls, "RUNNING") {
		t.Errorf("the sandbox after its container's delete: %q", ls)
	}
	h.ctr(t, "task", "kill", "-s", "SIGKILL", pod)
	h.waitStopped(t, pod)
	h.ctr(t, "task", "delete", pod)
	h.ctr(t, "container", "delete", pod)
	h.checkClean(t, before)
}
