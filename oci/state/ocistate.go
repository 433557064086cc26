package state

import (
	"maps"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// OCIState is what `kite state` prints. alive says whether the
// container's host processes still run (State.Alive): when they do not,
// the container is stopped whatever was recorded, since the sandbox
// process owned the VM and the init proxy exits with the init. A state
// still being created and without a sandbox process yet stays creating.
// The pid is the init proxy's (the sandbox process's for a state that
// has none), zero once stopped, as runc reports it.
func OCIState(s State, alive bool) specs.State {
	status := s.Status
	if !alive && !(status == StatusCreating && s.Pid == 0) {
		status = StatusStopped
	}
	pid := s.InitPid
	if pid == 0 {
		pid = s.Pid
	}
	if status == StatusStopped {
		pid = 0
	}
	annotations := s.Annotations
	if s.Degraded != "" || len(s.Warnings) > 0 {
		annotations = maps.Clone(annotations)
		if annotations == nil {
			annotations = map[string]string{}
		}
		if s.Degraded != "" {
			annotations[DegradedAnnotation] = s.Degraded
		}
		if len(s.Warnings) > 0 {
			annotations[WarningsAnnotation] = strings.Join(s.Warnings, "; ")
		}
	}
	return specs.State{
		Version:     specs.Version,
		ID:          s.ID,
		Status:      specs.ContainerState(status),
		Pid:         pid,
		Bundle:      s.Bundle,
		Annotations: annotations,
	}
}

// DegradedAnnotation carries State.Degraded in `kite state`: the OCI
// statuses have no word for why a container's sandbox failed.
const DegradedAnnotation = "io.kite.degraded"

// WarningsAnnotation carries State.Warnings in `kite state`, joined by
// "; ".
const WarningsAnnotation = "io.kite.warnings"

// Alive reports whether the container's host processes run: the sandbox
// process, and the init proxy once there is one. An init proxy that is
// gone means the init has exited (it exits after the sandbox process
// recorded that) or is being killed (see oci.RunInitProxy): either way
// the container is stopping.
func (s State) Alive(p Proc) bool {
	if !p.Alive(s.Pid, s.PidStartTime) {
		return false
	}
	return s.InitPid == 0 || p.Alive(s.InitPid, s.InitPidStartTime)
}
