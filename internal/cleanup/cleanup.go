// Package cleanup provides an undo stack for multi-step setup that must roll
// back: each side effect registers its undo right after it succeeds, and a
// failure half way runs the undos in reverse so the host is left as it was.
//
//	var cu cleanup.Stack
//	defer cu.Clean()
//	... cu.Add("remove tap", func() error { ... }) ...
//	cu.Release() // success: keep everything
package cleanup

import (
	"context"
	"errors"
	"fmt"
)

type step struct {
	name string
	undo func(context.Context) error
}

// Stack is a LIFO of undo steps. The zero value is ready to use. A Stack is not
// safe for concurrent use.
type Stack struct {
	steps []step
}

// Add registers undo under a name used in error messages.
func (s *Stack) Add(name string, undo func() error) {
	s.steps = append(s.steps, step{name: name, undo: func(context.Context) error { return undo() }})
}

// AddCtx registers an undo that waits on something (a process to exit, the
// guest to let a device go): it gets the ctx CleanCtx is given, which bounds
// the whole teardown.
func (s *Stack) AddCtx(name string, undo func(context.Context) error) {
	s.steps = append(s.steps, step{name: name, undo: undo})
}

// Push registers other's pending steps as one step of s, run in their own
// order when s reaches it, and releases them from other.
func (s *Stack) Push(name string, other *Stack) {
	kept := other.Release()
	s.AddCtx(name, kept.CleanCtx)
}

// Len reports how many undo steps are pending.
func (s *Stack) Len() int { return len(s.steps) }

// Release forgets every pending step: setup succeeded and its effects stay.
// It returns the released steps as a new Stack so a caller can keep them for
// a later teardown.
func (s *Stack) Release() *Stack {
	kept := &Stack{steps: s.steps}
	s.steps = nil
	return kept
}

// Clean runs the pending steps in reverse order of registration, all of them
// even when some fail, and returns every failure joined. Clean on an empty or
// released Stack does nothing.
func (s *Stack) Clean() error { return s.CleanCtx(context.Background()) }

// CleanCtx is Clean with ctx handed to the steps added with AddCtx.
func (s *Stack) CleanCtx(ctx context.Context) error {
	var errs []error
	for i := len(s.steps) - 1; i >= 0; i-- {
		st := s.steps[i]
		if err := st.undo(ctx); err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", st.name, err))
		}
	}
	s.steps = nil
	return errors.Join(errs...)
}
