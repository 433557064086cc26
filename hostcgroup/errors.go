package hostcgroup

import "errors"

// Sentinels, for the engine to classify.
var (
	// ErrInvalid: a cgroups path or a limit that cannot be applied as given.
	ErrInvalid = errors.New("invalid host cgroup request")
	// ErrBusy: the sandbox's cgroup exists already and holds processes.
	ErrBusy = errors.New("host cgroup in use")
	// ErrHost: the host's cgroups cannot do what is asked (a controller not
	// mounted or not offered).
	ErrHost = errors.New("host cgroups cannot do this")
)
