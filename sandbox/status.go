package sandbox

import (
	"fmt"
	"slices"
)

// Status is where a process (and, through its init, a container) is in
// its life. Each move is checked against moves, so that a request out of
// order (start before create, resume of a running container) fails with
// ErrFailedPrecondition whichever front end sent it.
type Status string

// Statuses.
const (
	StatusCreated Status = "created"
	StatusRunning Status = "running"
	StatusPaused  Status = "paused"
	StatusStopped Status = "stopped"
)

// moves lists the statuses each status may move to. A created process can
// stop without running: its VM died, or its container was removed.
var moves = map[Status][]Status{
	StatusCreated: {StatusRunning, StatusStopped},
	StatusRunning: {StatusPaused, StatusStopped},
	StatusPaused:  {StatusRunning, StatusStopped},
	StatusStopped: nil,
}

// canMove reports whether from may move to to.
func canMove(from, to Status) bool { return slices.Contains(moves[from], to) }

func (s Status) String() string { return string(s) }

var _ fmt.Stringer = StatusCreated
