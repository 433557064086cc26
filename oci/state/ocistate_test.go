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
