package shim

import (
	"errors"
	"testing"

	tasktypes "github.com/containerd/containerd/api/types/task"
)

func TestMoves(t *testing.T) {
	all := []status{statusCreated, statusRunning, statusPaused, statusStopped}
	allowed := map[[2]status]bool{
		{statusCreated, statusRunning}: true, {statusCreated, statusStopped}: true,
		{statusRunning, statusPaused}: true, {statusRunning, statusStopped}: true,
		{statusPaused, statusRunning}: true, {statusPaused, statusStopped}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := canMove(from, to); got != allowed[[2]status{from, to}] {
				t.Errorf("canMove(%s, %s) = %v", from, to, got)
			}
		}
	}
	if err := moveError("task x", statusStopped, statusRunning); !errors.Is(err, ErrFailedPrecondition) {
		t.Errorf("moveError = %v, want ErrFailedPrecondition", err)
	}
}

func TestTaskStatus(t *testing.T) {
	for s, want := range map[status]tasktypes.Status{
		statusCreated: tasktypes.Status_CREATED, statusRunning: tasktypes.Status_RUNNING,
		statusPaused: tasktypes.Status_PAUSED, statusStopped: tasktypes.Status_STOPPED,
		status("bogus"): tasktypes.Status_UNKNOWN,
	} {
		if got := s.taskStatus(); got != want {
			t.Errorf("%s.taskStatus() = %v, want %v", s, got, want)
		}
	}
}
