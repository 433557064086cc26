package shim

import (
	"fmt"
	"slices"

	tasktypes "github.com/containerd/containerd/api/types/task"
)

// status is where a process is in its life; each move between statuses is
// checked against moves, so that an RPC out of order (Start before Create,
// Resume of a running task) fails with ErrFailedPrecondition.
type status string

const (
	statusCreated status = "created"
	statusRunning status = "running"
	statusPaused  status = "paused"
	statusStopped status = "stopped"
)

// moves lists the statuses each status may move to. A created process can
// stop without running: its VM died, or its container was deleted.
var moves = map[status][]status{
	statusCreated: {statusRunning, statusStopped},
	statusRunning: {statusPaused, statusStopped},
	statusPaused:  {statusRunning, statusStopped},
	statusStopped: nil,
}

// canMove reports whether from may move to to.
func canMove(from, to status) bool { return slices.Contains(moves[from], to) }

// moveError is the error of a move that is not allowed, phrased like runc's.
func moveError(what string, from, to status) error {
	return errorf(ErrFailedPrecondition, "%s is %s, cannot make it %s", what, from, to)
}

// taskStatus is the containerd name of the status.
func (s status) taskStatus() tasktypes.Status {
	switch s {
	case statusCreated:
		return tasktypes.Status_CREATED
	case statusRunning:
		return tasktypes.Status_RUNNING
	case statusPaused:
		return tasktypes.Status_PAUSED
	case statusStopped:
		return tasktypes.Status_STOPPED
	}
	return tasktypes.Status_UNKNOWN
}

func (s status) String() string { return string(s) }

var _ fmt.Stringer = statusCreated
