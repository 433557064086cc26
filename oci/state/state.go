package state

import (
	"fmt"
	"time"

	"github.com/kite-vm/kite/spec"
)

// Status is where a container is in its life, as the CLI records it.
type Status string

// The statuses, in life order. Paused is runc's addition to the OCI set.
const (
	// StatusCreating: the id is reserved and the VM is booting.
	StatusCreating Status = "creating"
	// StatusCreated: the container exists in the guest, its process
	// waiting for `kite start`.
	StatusCreated Status = "created"
	// StatusRunning: the process has been started and has not exited.
	StatusRunning Status = "running"
	// StatusPaused: the container's cgroup is frozen.
	StatusPaused Status = "paused"
	// StatusStopped: the process has exited (ExitCode says how) or the
	// host process is gone.
	StatusStopped Status = "stopped"
)

// Valid reports whether s is one of the statuses above.
func (s Status) Valid() bool {
	switch s {
	case StatusCreating, StatusCreated, StatusRunning, StatusPaused, StatusStopped:
		return true
	}
	return false
}

// State is what Kite records about a container, in <root>/<id>/state.json.
type State struct {
	ID string `json:"id"`
	// Bundle is the absolute path of the OCI bundle.
	Bundle string `json:"bundle"`
	// Rootfs is the absolute host directory shared as the root file system.
	Rootfs string `json:"rootfs"`
	Status Status `json:"status"`
	// Pid is the per-sandbox host process, which owns the VM and the
	// container's stdio; the container lives as long as it does. Zero
	// until it has started.
	Pid int `json:"pid,omitempty"`
	// PidStartTime is field 22 of /proc/<Pid>/stat when Pid was recorded
	// (StartTime), so that Alive does not take a recycled pid for it.
	PidStartTime uint64 `json:"pidStartTime,omitempty"`
	// InitPid is the init proxy: the host process that stands for the
	// container's init (the --pid-file process, the OCI state's pid). It
	// exits when the init exits, with its status, and forwards the
	// signals it gets to it. Zero until it has started.
	InitPid int `json:"initPid,omitempty"`
	// InitPidStartTime is InitPid's start time, as PidStartTime.
	InitPidStartTime uint64 `json:"initPidStartTime,omitempty"`
	// SandboxDir is the engine's directory for this container's sandbox
	// (the VM's sockets, the crash record) and the control socket's: the
	// container's own directory, or a short one under the root when that
	// would make a socket path too long (see oci.SandboxDir).
	SandboxDir string `json:"sandboxDir,omitempty"`
	// Netns is the network namespace Kite made for the container (a bind
	// mount in SandboxDir), when the spec asked for a new one and has hooks
	// to configure it; empty otherwise.
	Netns string `json:"netns,omitempty"`
	// QEMUPid and VirtiofsdPids are the VM's processes, children of Pid,
	// for `kite delete --force` to kill when Pid is gone.
	QEMUPid       int   `json:"qemuPid,omitempty"`
	VirtiofsdPids []int `json:"virtiofsdPids,omitempty"`
	// GuestPid is the container's init process as the guest numbers it.
	GuestPid int `json:"guestPid,omitempty"`
	// ControlSocket is the unix socket the host process serves the CLI on.
	ControlSocket string `json:"controlSocket,omitempty"`
	// Created is when `kite create` reserved the id.
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// ExitCode is the process's exit status once stopped (128+n for a
	// signal); nil while it runs or when it is unknown.
	ExitCode *int `json:"exitCode,omitempty"`
	// Terminal says the process runs on a pseudo-terminal.
	Terminal bool `json:"terminal,omitempty"`
	// Degraded says why the sandbox failed (a share's server died, so its
	// VM was stopped), empty while it is healthy.
	Degraded string `json:"degraded,omitempty"`
	// Warnings are what create found wrong but let pass (PCI functions on
	// a NUMA node away from the container's CPUs).
	Warnings []string `json:"warnings,omitempty"`
	// Hooks are the bundle's OCI hooks, kept for start and delete (the
	// bundle may be gone by then).
	Hooks *spec.Hooks `json:"hooks,omitempty"`
}

// validate checks what a reader relies on.
func (s *State) validate() error {
	if !s.Status.Valid() {
		return fmt.Errorf("unknown status %q", s.Status)
	}
	if s.Pid < 0 || s.QEMUPid < 0 || s.InitPid < 0 {
		return fmt.Errorf("negative pid")
	}
	return nil
}
