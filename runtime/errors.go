package runtime

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, usable with errors.Is on what this package returns.
var (
	// ErrInvalid: an input Kite cannot use (a share's tag or path, the
	// sandbox id or directory).
	ErrInvalid = errors.New("invalid sandbox input")
	// ErrHost: the configuration asks for something this host lacks (KVM,
	// vhost-vsock) or a host file it needs is missing.
	ErrHost = errors.New("host cannot run the configuration")
	// ErrNotFound: a volume or interface the sandbox does not have.
	ErrNotFound = errors.New("not found")
	// ErrUnsupported: a configuration the VM planner does not implement.
	ErrUnsupported = errors.New("not supported")
	// ErrVirtiofsdExited: virtiofsd exited before it served its socket.
	ErrVirtiofsdExited = errors.New("virtiofsd exited")
	// ErrQEMUExited: QEMU exited while the runtime waited for the guest.
	ErrQEMUExited = errors.New("qemu exited")
)

// BootStep names a step of BootVM, for errors.
type BootStep string

// The steps of BootVM, in order.
const (
	StepCheck        BootStep = "checking host files"
	StepSandboxDir   BootStep = "creating the sandbox directory"
	StepSharedDir    BootStep = "creating the shared directory"
	StepAgentSocket  BootStep = "listening on the agent socket"
	StepBindMount    BootStep = "bind-mounting a read-only share"
	StepVirtiofsd    BootStep = "starting virtiofsd"
	StepNetwork      BootStep = "attaching the pod network"
	StepPCIDevices   BootStep = "binding PCI devices to vfio-pci"
	StepQEMU         BootStep = "starting QEMU"
	StepAgentConnect BootStep = "waiting for QEMU to connect to the agent socket"
	StepAgentReady   BootStep = "waiting for the agent"
	StepQMP          BootStep = "connecting to QMP"
	StepPinning      BootStep = "pinning vCPUs"
	StepGuestNetwork BootStep = "configuring the guest network"
)

// BootError is a failed BootVM. Everything done before the failure has been
// undone when it is returned; Cleanup holds what could not be.
type BootError struct {
	Sandbox string
	Step    BootStep
	// Share is the tag of the share the step was about, if any.
	Share string
	Err   error
	// QEMULog and Console are the tails of QEMU's output and of the guest
	// console, when QEMU had started: they say why a guest did not come up.
	QEMULog, Console string
	// Cleanup is what failed while undoing the earlier steps (nil when
	// everything was undone).
	Cleanup error
}

func (e *BootError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "booting sandbox %q: %s", e.Sandbox, e.Step)
	if e.Share != "" {
		fmt.Fprintf(&b, " for share %q", e.Share)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if e.QEMULog != "" || e.Console != "" {
		fmt.Fprintf(&b, "\nqemu output:\n%s\nconsole:\n%s", indent(e.QEMULog), indent(e.Console))
	}
	if e.Cleanup != nil {
		fmt.Fprintf(&b, "\nundoing the boot also failed: %v", e.Cleanup)
	}
	return b.String()
}

// Unwrap returns the step's error; Cleanup errors are reported, not matched.
func (e *BootError) Unwrap() error { return e.Err }

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "  (empty)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
