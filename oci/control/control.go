package control

import (
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ControlSocketName is the sandbox process's control socket, in the
// sandbox's state directory.
const ControlSocketName = "control.sock"

// Request is one call on the control socket: exactly one field is set.
// Each connection carries one request and its response, so a long wait
// (WaitExec) never holds up other calls.
type Request struct {
	Start    *StartRequest    `json:"start,omitempty"`
	Kill     *KillRequest     `json:"kill,omitempty"`
	Exec     *ExecRequest     `json:"exec,omitempty"`
	WaitExec *WaitExecRequest `json:"waitExec,omitempty"`
	Pause    *PauseRequest    `json:"pause,omitempty"`
	Resume   *ResumeRequest   `json:"resume,omitempty"`
	Ps       *PsRequest       `json:"ps,omitempty"`
	Shutdown *ShutdownRequest `json:"shutdown,omitempty"`
	// Watch is answered twice on its connection (see WatchRequest).
	Watch *WatchRequest `json:"watch,omitempty"`

	AddInterface    *AddInterfaceRequest    `json:"addInterface,omitempty"`
	RemoveInterface *RemoveInterfaceRequest `json:"removeInterface,omitempty"`
	Interfaces      *InterfacesRequest      `json:"interfaces,omitempty"`

	AddVolume    *AddVolumeRequest    `json:"addVolume,omitempty"`
	RemoveVolume *RemoveVolumeRequest `json:"removeVolume,omitempty"`
	Volumes      *VolumesRequest      `json:"volumes,omitempty"`
}

// Response answers a Request: Error, or the result field of the request's
// kind (none for requests that return nothing).
type Response struct {
	Error    *Error            `json:"error,omitempty"`
	Exec     *ExecResponse     `json:"exec,omitempty"`
	WaitExec *WaitExecResponse `json:"waitExec,omitempty"`
	Ps       *PsResponse       `json:"ps,omitempty"`
	Watch    *WatchResponse    `json:"watch,omitempty"`

	Interface  *Interface          `json:"interface,omitempty"`
	Interfaces *InterfacesResponse `json:"interfaces,omitempty"`

	Volume  *VolumeInfo      `json:"volume,omitempty"`
	Volumes *VolumesResponse `json:"volumes,omitempty"`
}

// StartRequest runs the created container's program.
type StartRequest struct{}

// KillRequest signals the container's init process, or with All every
// process of the container, or the exec ExecID names.
type KillRequest struct {
	Signal syscall.Signal `json:"signal"`
	All    bool           `json:"all,omitempty"`
	ExecID string         `json:"execID,omitempty"`
}

// ExecRequest starts a process in the running container. Its stdin,
// stdout and stderr travel with the request as file descriptors
// (SCM_RIGHTS), in that order; the sandbox process owns them from then on
// and closes them when the process's output has ended.
type ExecRequest struct {
	// ExecID names the process for WaitExec; unique in the container.
	ExecID string `json:"execID"`
	// Process is what to run. Process.Terminal runs it on a terminal whose
	// input and output are the passed stdin and stdout.
	Process *specs.Process `json:"process"`
}

// ExecResponse reports the started process.
type ExecResponse struct {
	// Pid is the process's pid in the guest.
	Pid int `json:"pid"`
}

// WaitExecRequest waits for a process to exit and its output to be
// copied out. An empty ExecID names the container's init process.
type WaitExecRequest struct {
	ExecID string `json:"execID,omitempty"`
}

// WaitExecResponse is how the process ended.
type WaitExecResponse struct {
	// ExitCode is the exit status as a shell reports it (128+N for a
	// process killed by signal N).
	ExitCode int `json:"exitCode"`
}

// PauseRequest freezes the container.
type PauseRequest struct{}

// ResumeRequest thaws the container.
type ResumeRequest struct{}

// PsRequest lists the container's processes.
type PsRequest struct{}

// PsResponse lists the processes the sandbox process started and that have
// not exited: the init process and the live execs. The agent has no
// process listing, so processes those forked are not included.
type PsResponse struct {
	Processes []Process `json:"processes"`
}

// Process is a process of the container.
type Process struct {
	// ExecID is empty for the init process and its children.
	ExecID string `json:"execID,omitempty"`
	// Pid is the process's pid in the guest.
	Pid int `json:"pid"`
	// Child: a process the init or an exec started.
	Child bool `json:"child,omitempty"`
}

// ShutdownRequest stops the VM, removes the sandbox's state and ends the
// sandbox process. Without Force it fails while the container is running
// or paused.
type ShutdownRequest struct {
	Force bool `json:"force,omitempty"`
}
