package fsshare

import "errors"

// Sentinel errors, usable with errors.Is on what this package returns.
var (
	// ErrInvalid: a share, volume or name Kite cannot use.
	ErrInvalid = errors.New("invalid share")
	// ErrHost: a host file or directory a share needs is missing or wrong.
	ErrHost = errors.New("host cannot serve the share")
	// ErrNotFound: no such name in the shared directory.
	ErrNotFound = errors.New("not found")
	// ErrVirtiofsdExited: virtiofsd exited before it served its socket.
	ErrVirtiofsdExited = errors.New("virtiofsd exited")
)
