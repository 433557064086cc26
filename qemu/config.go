package qemu

import (
	"os"
	"strconv"
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
	// Start drains it from QEMU through a socket (see consolelog.go).
	ConsoleLog string
	// ConsoleLogMax is the most bytes ConsoleLog and its older generation,
	// ConsoleLog.1, hold together; 0 leaves the log unbounded.
	ConsoleLogMax int64
	// QMPSocket is where QEMU listens for QMP; Start waits on it.
	QMPSocket string
	PidFile   string
	// Paused starts with the vCPUs stopped (-S); QMP cont runs them. Lets the
	// runtime hot-plug before the guest boots.
	Paused bool
	// Incoming starts QEMU waiting for a saved state (-incoming defer)
	// instead of running the guest: QMP migrate-incoming then loads it
	// (vm's template clones).
	Incoming bool
	// Seccomp confines QEMU with its seccomp filter (-sandbox SeccompArg).
	Seccomp bool
	// Caps are capabilities an unprivileged QEMU keeps beyond those its
	// devices need (capsOf): for devices hot-plugged later, which cannot
	// add any once QEMU runs.
	Caps []Capability
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
	QMPSocket     string
	PidFile       string
	ConsoleLog    string
	ConsoleLogMax int64
	// Caps are the capabilities QEMU keeps when Start runs it as an
	// unprivileged user: its devices' and Config.Caps, sorted.
	Caps []Capability

	// Set by Build: the files Start opens and passes first (QMP listener,
	// console log) as fds 3, 4, ..., the paths QEMU opens by itself, and
	// the functions whose VFIO groups it opens. A Cmdline made by hand
	// names its QMP socket and pid file in Args, and Start binds nothing.
	handover []handover
	uses     []pathUse
	vfio     []string
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
	hand := []handover{handQMP}
	if c.ConsoleLog != "" {
		hand = append(hand, handConsole)
	}
	fds := fdTable{base: 3 + len(hand)}
	args := c.baseArgs()
	for _, r := range c.RootPorts {
		args = append(args, "-device", r.Props().Arg())
	}
	caps := append([]Capability(nil), c.Caps...)
	uses := append(c.Kernel.uses(), c.Memory.uses()...)
	var vfio []string
	sets := map[int64]string{}
	for _, d := range c.Devices {
		p := d.Parts(&fds)
		for _, s := range p.FDSets {
			if other, ok := sets[s.ID]; ok {
				return Cmdline{}, invalid("", "", "Devices", "fd set %d of %s is %s's too", s.ID, s.Ref, other)
			}
			sets[s.ID] = "fd " + s.Ref
		}
		args = append(args, p.Args()...)
		caps = append(caps, capsOf(p)...)
		uses = append(uses, p.uses()...)
		vfio = append(vfio, p.vfioHosts()...)
	}
	return Cmdline{
		Path:          c.Binary,
		Args:          args,
		ExtraFiles:    fds.files,
		QMPSocket:     c.QMPSocket,
		PidFile:       c.PidFile,
		ConsoleLog:    c.ConsoleLog,
		ConsoleLogMax: c.ConsoleLogMax,
		Caps:          sortCaps(caps),
		handover:      hand,
		uses:          uses,
		vfio:          vfio,
	}, nil
}

// baseArgs renders everything but the devices. We own the child: no
// -daemonize. -nodefaults and -no-user-config keep host files and default
// devices out of the VM.
func (c Config) baseArgs() []string {
	args := []string{"-name", opts("", Str("guest", c.Name)), "-nodefaults", "-no-user-config", "-nographic", "-no-reboot"}
	args = append(args, c.Machine.args(c.hasNVDIMM(), c.Accel.Type == AccelKVM)...)
	args = append(args, c.Accel.args()...)
	args = append(args, c.CPU.args()...)
	args = append(args, c.Memory.args()...)
	args = append(args, c.Kernel.args()...)
	// Start opens the QMP listener and the console log and passes them as
	// fds 3 and 4 (Build's handover), so QEMU opens no path of the VM
	// directory; Start writes the pid file itself (no -pidfile).
	if c.ConsoleLog != "" {
		console := Chardev{ID: consoleChardevID, Backend: ChardevSocket, FD: strconv.Itoa(consoleFD)}
		args = append(args, "-chardev", console.Arg(), "-serial", "chardev:"+consoleChardevID)
	}
	qmp := Chardev{ID: qmpChardevID, Backend: ChardevSocket, FD: strconv.Itoa(qmpFD), Server: true}
	args = append(args, "-chardev", qmp.Arg(), "-mon", opts("", Str("chardev", qmpChardevID), Str("mode", "control")))
	if c.Seccomp {
		args = append(args, "-sandbox", SeccompArg)
	}
	if c.Paused {
		args = append(args, "-S")
	}
	if c.Incoming {
		args = append(args, "-incoming", "defer")
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
