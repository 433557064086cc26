package tasks

import (
	"testing"

	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/kite-vm/kite/sandbox"
)

func TestTaskStatus(t *testing.T) {
	for s, want := range map[sandbox.Status]tasktypes.Status{
		sandbox.StatusCreated: tasktypes.Status_CREATED, sandbox.StatusRunning: tasktypes.Status_RUNNING,
		sandbox.StatusPaused: tasktypes.Status_PAUSED, sandbox.StatusStopped: tasktypes.Status_STOPPED,
		sandbox.Status("bogus"): tasktypes.Status_UNKNOWN,
	} {
		if got := taskStatus(s); got != want {
			t.Errorf("taskStatus(%s) = %v, want %v", s, got, want)
		}
	}
}
