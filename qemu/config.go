package qemu

import (
	"os"
	"strings"
)

// Builder-owned ids, reserved in their namespaces.
const (
	memObjectID      = "mem"     // shared RAM backend
	qmpChardevID     = "qmp"     // QMP monitor socket
	consoleChardevID = "console" // serial console log
)

// Config is everything QEMU's command line says about one VM.
type Config struct {
	Name    string // -name; shows in ps and QEMU's messages
	Binary  string // qemu-system-x86_64 path
	Machine Machine
	Accel   Accel
	CPU     CPU
	Memory  Memory
	Kernel  Kernel
	// ConsoleLog receives the guest's serial console (ttyS0); "" for none.
	ConsoleLog string
	// QMPSocket is where QEMU listens for QMP; Start waits on it.
	QMPSocket string
	PidFile   string
	// Paused starts with the vCPUs stopped (-S); QMP cont runs them. Lets the
	// runtime hot-plug before the guest boots.
	Paused bool
	// RootPorts come before Devices on the command line so devices can sit
	// on them (Bus = port ID); the spare ones take hot-plugged devices.
	RootPorts []RootPort
	Devices   []Device
}

// Cmdline is a built command line, ready for Start.
type Cmdline struct {
	Path string
	Args []string // without argv[0]
	// ExtraFiles[i] is fd 3+i in QEMU, as exec.Cmd.ExtraFiles passes them.
	ExtraFiles []*os.File
	// Copied from Config for Start.
	QMPSocket  string
	PidFile    string
	ConsoleLog string
}

// String renders the command line for a person to paste into a shell.
func (c Cmdline) String() string {
	words := make([]string, 0, len(c.Args)+1)
	for _, w := range append([]string{c.Path}, c.Args...) {
		words = append(words, shellQuote(w))
	}
	return strings.Join(words, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Build validates the config and renders the command line. It is pure: it
// opens nothing, and files in device specs are only numbered.
func (c Config) Build() (Cmdline, error) {
	if err := c.Validate(); err != nil {
		return Cmdline{}, err
	}
	var fds fdTable
	args := c.baseArgs()
	for _, r := range c.RootPorts {
		args = append(args, "-device", r.Props().Arg())
	}
	for _, d := range c.Devices {
		args = append(args, d.Parts(&fds).Args()...)
	}
	return Cmdline{
		Path:       c.Binary,
		Args:       args,
		ExtraFiles: fds.files,
		QMPSocket:  c.QMPSocket,
		PidFile:    c.PidFile,
		ConsoleLog: c.ConsoleLog,
	}, nil
}

// baseArgs renders everything but the devices. We own the child: no
// -daemonize. -nodefaults and -no-user-config keep host files and default
// devices out of the VM.
func (c Config) baseArgs() []string {
	args := []string{"-name", opts("", Str("guest", c.Name)), "-nodefaults", "-no-user-config", "-nographic", "-no-reboot"}
	args = append(args, c.Machine.args(c.hasNVDIMM())...)
	args = append(args, c.Accel.args()...)
	args = append(args, c.CPU.args()...)
	args = append(args, c.Memory.args()...)
	args = append(args, c.Kernel.args()...)
	if c.ConsoleLog != "" {
		console := Chardev{ID: consoleChardevID, Backend: ChardevFile, Path: c.ConsoleLog}
		args = append(args, "-chardev", console.Arg(), "-serial", "chardev:"+consoleChardevID)
	}
	qmp := Chardev{ID: qmpChardevID, Backend: ChardevSocket, Path: c.QMPSocket, Server: true}
	args = append(args, "-chardev", qmp.Arg(), "-mon", opts("", Str("chardev", qmpChardevID), Str("mode", "control")))
	// -pidfile takes its value verbatim.
	args = append(args, "-pidfile", c.PidFile)
	if c.Paused {
		args = append(args, "-S")
	}
	return args
}

func (c Config) hasNVDIMM() bool {
	for _, d := range c.Devices {
		if n, ok := d.(needer); ok && n.needs().nvdimmBytes > 0 {
			return true
		}
	}
	return false
}
