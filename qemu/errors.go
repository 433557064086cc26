package qemu

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalid is matched (errors.Is) by every validation error.
	ErrInvalid = errors.New("invalid qemu spec")
	// ErrEarlyExit reports that QEMU exited before it was ready.
	ErrEarlyExit = errors.New("qemu exited during startup")
	// ErrRunning is returned by ExitErr while QEMU is still running.
	ErrRunning = errors.New("qemu is still running")
	// ErrExited is returned when signalling a QEMU that has already exited.
	ErrExited = errors.New("qemu has exited")
	// ErrStopTimeout reports that QEMU survived SIGKILL for the Kill timeout.
	ErrStopTimeout = errors.New("qemu did not exit")
)

// SpecError is a validation error. It names the device (Kind and ID, both
// empty for a Config-level field) and the offending field by its Go name.
type SpecError struct {
	// Kind is the spec kind (e.g. "tap-net"); for a rule between devices, the
	// QEMU driver or backend at fault (e.g. "virtio-net-pci", "netdev");
	// empty for a Config field.
	Kind   string
	ID     string // device ID
	Field  string // e.g. "Queues" or "Memory.SizeMiB"
	Reason string
}

func (e *SpecError) Error() string {
	if e.Kind == "" {
		return fmt.Sprintf("%v: %s: %s", ErrInvalid, e.Field, e.Reason)
	}
	return fmt.Sprintf("%v: %s %q: %s: %s", ErrInvalid, e.Kind, e.ID, e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalid) true for every SpecError.
func (e *SpecError) Is(target error) bool { return target == ErrInvalid }

func invalid(kind, id, field, format string, args ...any) error {
	return &SpecError{Kind: kind, ID: id, Field: field, Reason: fmt.Sprintf(format, args...)}
}
