package state

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestOCIState(t *testing.T) {
	tests := []struct {
		status     Status
		pid        int
		alive      bool
		wantStatus specs.ContainerState
		wantPid    int
	}{
		{StatusCreating, 0, false, specs.StateCreating, 0},
		{StatusCreating, 10, true, specs.StateCreating, 10},
		{StatusCreating, 10, false, specs.StateStopped, 0},
		{StatusCreated, 10, true, specs.StateCreated, 10},
		{StatusRunning, 10, true, specs.StateRunning, 10},
		{StatusPaused, 10, true, "paused", 10},
		{StatusStopped, 10, true, specs.StateStopped, 0},
		{StatusCreated, 10, false, specs.StateStopped, 0},
		{StatusRunning, 10, false, specs.StateStopped, 0},
		{StatusPaused, 10, false, specs.StateStopped, 0},
	}
	for _, tt := range tests {
		s := sampleState("c1")
		s.Status, s.Pid = tt.status, tt.pid
		got := OCIState(s, tt.alive)
		want := specs.State{
			Version: specs.Version, ID: "c1", Status: tt.wantStatus, Pid: tt.wantPid,
			Bundle: "/bundles/c1", Annotations: map[string]string{"a": "b"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("OCIState(%s, pid %d, alive %v) (-want +got):\n%s", tt.status, tt.pid, tt.alive, diff)
		}
	}
}

// With an init proxy, the OCI pid is the proxy's, and the container is
// stopped once either host process is gone.
func TestOCIStateInitProxy(t *testing.T) {
	root := t.TempDir()
	fakeStat(t, root, 10, "kite", 'S', 100) // the sandbox process
	fakeStat(t, root, 20, "kite", 'S', 200) // the init proxy
	fakeStat(t, root, 30, "kite", 'Z', 300) // an init proxy that exited
	p := Proc{Root: root}
	for _, tt := range []struct {
		name       string
		initPid    int
		initStart  uint64
		wantStatus specs.ContainerState
		wantPid    int
	}{
		{"both run", 20, 200, specs.StateRunning, 20},
		{"no proxy (an older state)", 0, 0, specs.StateRunning, 10},
		{"the proxy exited", 30, 300, specs.StateStopped, 0},
		{"the proxy's pid was reused", 20, 199, specs.StateStopped, 0},
	} {
		s := sampleState("c1")
		s.Status, s.Pid, s.PidStartTime, s.InitPid, s.InitPidStartTime = StatusRunning, 10, 100, tt.initPid, tt.initStart
		got := OCIState(s, s.Alive(p))
		if got.Status != tt.wantStatus || got.Pid != tt.wantPid {
			t.Errorf("%s: OCIState = %s, pid %d; want %s, pid %d", tt.name, got.Status, got.Pid, tt.wantStatus, tt.wantPid)
		}
	}
	s := sampleState("c1")
	s.Status, s.Pid, s.PidStartTime, s.InitPid, s.InitPidStartTime = StatusRunning, 11, 100, 20, 200
	if s.Alive(p) {
		t.Error("Alive with the sandbox process gone = true")
	}
}

// Why a sandbox failed, and what create let pass, are annotations of the
// OCI state; the recorded annotations are not changed.
func TestOCIStateDegradedAndWarnings(t *testing.T) {
	s := sampleState("c1")
	s.Status, s.Pid = StatusRunning, 10
	s.Degraded = "virtiofsd died"
	s.Warnings = []string{"PCI function A is on NUMA node 1", "PCI function B is on NUMA node 1"}
	got := OCIState(s, true).Annotations
	want := map[string]string{"a": "b", DegradedAnnotation: "virtiofsd died",
		WarningsAnnotation: "PCI function A is on NUMA node 1; PCI function B is on NUMA node 1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if len(s.Annotations) != 1 {
		t.Errorf("the recorded annotations changed: %v", s.Annotations)
	}
}
