package state

import (
	"errors"
	"fmt"
)

// Sentinel errors, usable with errors.Is on what this package returns.
var (
	// ErrExists: Create found the id in use.
	ErrExists = errors.New("already exists")
	// ErrNotFound: no container has the id, or it was deleted meanwhile.
	ErrNotFound = errors.New("does not exist")
	// ErrInvalidID: the id cannot name a container.
	ErrInvalidID = errors.New("is not a valid container id")
	// ErrNoState: the container's directory exists but its state has not
	// been written yet: a create is in progress (or died before writing).
	ErrNoState = errors.New("has no state yet (being created)")
	// ErrCorrupt: a state file cannot be parsed or holds impossible values.
	ErrCorrupt = errors.New("corrupt state")
)

// ContainerError ties a sentinel to the container it is about; it reads
// as `container "x" already exists`.
type ContainerError struct {
	ID  string
	Err error
}

func (e *ContainerError) Error() string { return fmt.Sprintf("container %q %v", e.ID, e.Err) }

// Unwrap returns the sentinel.
func (e *ContainerError) Unwrap() error { return e.Err }

func containerErr(id string, err error) error { return &ContainerError{ID: id, Err: err} }
