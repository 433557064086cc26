package sandbox

import (
	"errors"
	"testing"
)

func TestMoves(t *testing.T) {
	all := []Status{StatusCreated, StatusRunning, StatusPaused, StatusStopped}
	allowed := map[[2]Status]bool{
		{StatusCreated, StatusRunning}: true, {StatusCreated, StatusStopped}: true,
		{StatusRunning, StatusPaused}: true, {StatusRunning, StatusStopped}: true,
		{StatusPaused, StatusRunning}: true, {StatusPaused, StatusStopped}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := canMove(from, to); got != allowed[[2]Status{from, to}] {
				t.Errorf("canMove(%s, %s) = %v", from, to, got)
			}
		}
	}
	p := &Process{c: &Container{id: "x"}, status: StatusStopped}
	if err := p.move(StatusRunning); !errors.Is(err, ErrFailedPrecondition) {
		t.Errorf("a move out of stopped = %v, want ErrFailedPrecondition", err)
	}
}
