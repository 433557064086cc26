package state

import (
	"maps"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// OCIState is what `kite state` prints. alive says whether the host
// process (State.Pid) still runs (Proc.Alive): when it does not, the
// container is stopped whatever was recorded, since that process owned the
// VM. A state still being created and without a pid yet stays creating.
// The pid is the host process's, zero once stopped, as runc reports it.
func OCIState(s State, alive bool) specs.State {
	status := s.Status
	if !alive && !(status == StatusCreating && s.Pid == 0) {
		status = StatusStopped
	}
	pid := s.Pid
	if status == StatusStopped {
		pid = 0
	}
	annotations := s.Annotations
	if s.Degraded != "" {
		annotations = maps.Clone(annotations)
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[DegradedAnnotation] = s.Degraded
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
