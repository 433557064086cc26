package cli

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIntegrationOCIBadInput checks that each bad input gives a clear
// error and leaves nothing behind: no process, mount, socket or state.
func TestIntegrationOCIBadInput(t *testing.T) {
	e := newOCIEnv(t, "")
	good := e.bundle([]string{"true"}, nil)
	empty := t.TempDir()
	malformed := t.TempDir()
	if err := os.WriteFile(filepath.Join(malformed, "config.json"), []byte("{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,\n}"), 0o644); err != nil {
		t.Fatal(err)
	}
	noRootfs := e.bundle([]string{"true"}, func(s *specs.Spec) { s.Root.Path = "/nonexistent/rootfs" })
	// Accepted by the bundle checks, refused by the agent once the VM runs:
	// the sandbox process must undo its boot.
	badCap := e.bundle([]string{"true"}, func(s *specs.Spec) {
		s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_NOPE")
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing config.json", []string{"create", "--bundle", empty, "b1"}, "no config.json"},
		{"malformed config.json", []string{"create", "--bundle", malformed, "b1"}, "line 3, column"},
		{"rootfs missing", []string{"create", "--bundle", noRootfs, "b1"}, "/nonexistent/rootfs does not exist"},
		{"invalid id", []string{"create", "--bundle", good, "a/b"}, "is not a valid container id"},
		{"refused in the guest", []string{"create", "--bundle", badCap, "b1"}, `unknown capability "CAP_NOPE"`},
		{"run refused in the guest", []string{"run", "--bundle", badCap, "b1"}, `unknown capability "CAP_NOPE"`},
		{"state of an unknown id", []string{"state", "nope"}, `container "nope" does not exist`},
		{"kill of an unknown id", []string{"kill", "nope"}, `container "nope" does not exist`},
		{"delete of an unknown id", []string{"delete", "nope"}, `container "nope" does not exist`},
		{"start of an unknown id", []string{"start", "nope"}, `container "nope" does not exist`},
		{"exec in an unknown id", []string{"exec", "nope", "true"}, `container "nope" does not exist`},
		{"invalid signal", []string{"kill", "nope", "SIGNOPE"}, `invalid signal`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			e.t = t
			e.expectFail(tc.name, tc.want, tc.args...)
			e.audit(before, tc.name)
		})
	}
	e.t = t
	if code, _, errOut := e.kite("delete", "--force", "nope"); code != 0 {
		t.Errorf("delete --force of an unknown id = %d, %q; want 0 as runc", code, errOut)
	}
}

// TestIntegrationOCIVirtiofsdMissing: a configured virtiofsd that does not
// exist is named before anything starts.
func TestIntegrationOCIVirtiofsdMissing(t *testing.T) {
	e := newOCIEnv(t, "[shared_fs]\nvirtiofsd_path = \"/nonexistent/virtiofsd\"\n")
	bundle := e.bundle([]string{"true"}, nil)
	before := e.snapshot()
	e.expectFail("virtiofsd missing", "/nonexistent/virtiofsd", "run", "--bundle", bundle, "v1")
	e.audit(before, "a create without virtiofsd")
}

// TestIntegrationOCIQEMUKilled: when QEMU dies under a running container,
// the container reads as stopped and delete cleans everything.
func TestIntegrationOCIQEMUKilled(t *testing.T) {
	e := newOCIEnv(t, "")
	bundle := e.bundle([]string{"sleep", "1000"}, nil)
	before := e.snapshot()
	e.mustKite("run", "--detach", "--bundle", bundle, "q1")
	rec := e.recorded("q1")
	if err := syscall.Kill(rec.QEMUPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("q1", specs.StateStopped)
	if code := e.recorded("q1").ExitCode; code == nil || *code != 255 {
		t.Errorf("exit code after the VM died: %v, want 255 (unknown)", code)
	}
	e.expectFail("exec in a dead VM", "is stopped, cannot exec", "exec", "q1", "true")
	e.mustKite("delete", "q1")
	e.audit(before, "a container whose QEMU was killed")
}

// TestIntegrationOCISandboxProcessKilled: when the sandbox process dies,
// its VM dies with it (QEMU and virtiofsd are tethered to it), the
// container reads as stopped, and delete removes what is left: sockets,
// mounts, state.
func TestIntegrationOCISandboxProcessKilled(t *testing.T) {
	e := newOCIEnv(t, "")
	bundle := e.bundle([]string{"sleep", "1000"}, nil)
	before := e.snapshot()
	e.mustKite("run", "--detach", "--bundle", bundle, "k1")
	rec := e.recorded("k1")
	if err := syscall.Kill(rec.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("k1", specs.StateStopped)
	for end := time.Now().Add(10 * time.Second); len(processesNaming(filepath.Join(e.root, "k1", "vm"))) > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the VM outlived the sandbox process: %v", processesNaming(filepath.Join(e.root, "k1", "vm")))
		}
	}
	e.expectFail("start of a dead container", "container k1 is stopped, cannot start", "start", "k1")
	e.mustKite("delete", "k1")
	e.audit(before, "a container whose sandbox process was killed")
}
