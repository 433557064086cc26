package vm

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, usable with errors.Is on what this package returns.
var (
	// ErrInvalid: an input the VM cannot use (an id, a directory, an
	// attachment that does not fit the machine).
	ErrInvalid = errors.New("invalid VM input")
	// ErrHost: the configuration asks for something this host lacks (KVM,
	// vhost-vsock, huge pages) or a host file it needs is missing.
	ErrHost = errors.New("host cannot run the configuration")
	// ErrNotFound: no attachment of that name in the VM.
	ErrNotFound = errors.New("not found")
	// ErrUnsupported: a configuration or a hot plug the VM cannot do.
	ErrUnsupported = errors.New("not supported")
	// ErrQEMUExited: QEMU exited while the VM waited for the guest.
	ErrQEMUExited = errors.New("qemu exited")
)

// BootStep names a step of Boot, for errors.
type BootStep string

// The steps of Boot, in order.
const (
	StepCheck        BootStep = "checking host files"
	StepSandboxDir   BootStep = "creating the sandbox directory"
	StepAgentSocket  BootStep = "listening on the agent socket"
	StepAttach       BootStep = "attaching a device on the host"
	StepQEMU         BootStep = "starting QEMU"
	StepRestore      BootStep = "restoring the template's saved state"
	StepAgentConnect BootStep = "waiting for QEMU to connect to the agent socket"
	StepAgentReady   BootStep = "waiting for the agent"
	StepQMP          BootStep = "connecting to QMP"
	StepUnique       BootStep = "making the restored guest unique"
	StepPinning      BootStep = "pinning vCPUs"
	StepGuest        BootStep = "setting up a device in the guest"
)

// BootError is a failed Boot. Everything done before the failure has been
// undone when it is returned; Cleanup holds what could not be.
type BootError struct {
	Sandbox string
	Step    BootStep
	// Attachment is the name of the attachment the step was about, if any.
	Attachment string
	Err        error
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
	if e.Attachment != "" {
		fmt.Fprintf(&b, " %q", e.Attachment)
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
