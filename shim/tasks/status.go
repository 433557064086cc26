package tasks

import (
	tasktypes "github.com/containerd/containerd/api/types/task"
	"github.com/kite-vm/kite/sandbox"
)

// taskStatus is the containerd name of an engine status.
func taskStatus(s sandbox.Status) tasktypes.Status {
	switch s {
	case sandbox.StatusCreated:
		return tasktypes.Status_CREATED
	case sandbox.StatusRunning:
		return tasktypes.Status_RUNNING
	case sandbox.StatusPaused:
		return tasktypes.Status_PAUSED
	case sandbox.StatusStopped:
		return tasktypes.Status_STOPPED
	}
	return tasktypes.Status_UNKNOWN
}
