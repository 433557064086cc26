package qmp

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is wrapped by every error of a call that could not complete
	// because the connection ended (QEMU exited, Close was called, or the
	// stream could not be decoded).
	ErrClosed = errors.New("qmp: connection closed")
	// ErrProtocol is wrapped by errors about bytes that are not valid QMP.
	ErrProtocol = errors.New("qmp: protocol error")
	// ErrNotUnixConn is returned when passing a file descriptor over a
	// connection that is not a unix socket.
	ErrNotUnixConn = errors.New("qmp: file descriptors can only be passed over a unix socket")
	// ErrInvalidArgs is wrapped by errors about arguments rejected before
	// anything is sent to QEMU.
	ErrInvalidArgs = errors.New("qmp: invalid arguments")
)

// Error classes QEMU uses in error replies (QAPI's QapiErrorClass).
const (
	ClassGenericError    = "GenericError"
	ClassCommandNotFound = "CommandNotFound"
	ClassDeviceNotActive = "DeviceNotActive"
	ClassDeviceNotFound  = "DeviceNotFound"
	ClassKVMMissingCap   = "KVMMissingCap"
)

// Error is an error reply from QEMU. Match it with errors.As.
type Error struct {
	Class   string // e.g. ClassDeviceNotFound
	Desc    string // QEMU's human-readable description
	Command string // the command that failed
}

func (e *Error) Error() string {
	return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc)
}
