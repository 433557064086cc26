package sandbox

import (
	"cmp"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/devicemgr"
	"github.com/kite-vm/kite/vm"
)

// Config is what a front end gives the engine to create a sandbox.
type Config struct {
	// ID names the sandbox and its VM (letters, digits, _.-): the OCI front
	// end uses the container's id, the shim a digest of the pod's.
	ID string
	// Dir is the sandbox's directory, which must exist and belong to this
	// sandbox alone: the VM's directory (vm) and the crash record go there.
	Dir string
	// Config is the effective configuration.
	Config *configs.Config
	// Root is the runtime root (--root, runtime.root): the host's device
	// claims are kept under it, unless devices.allocation_dir says where.
	Root string
	// Observer hears of exits, the VM's death and a degraded sandbox;
	// nil hears nothing.
	Observer Observer
	// Logger receives the engine's log; nil discards it.
	Logger *slog.Logger
	// SysfsRoot stands for /sys ("" is "/sys"), for tests.
	SysfsRoot string
	// Host is what the host offers; nil: detected (vm.DetectHost).
	Host *vm.Host
	// JoinCgroup: the calling process serves this sandbox alone (the OCI
	// front end's per-sandbox process, the shim) and joins the sandbox's
	// host cgroup, the first container's linux.cgroupsPath, before the VM
	// starts, so QEMU, virtiofsd and its helpers start in it too (see
	// cgroup.go). Without it such a container is refused.
	JoinCgroup bool
	// StandIns, for tests only, has QEMU emulate the host functions they
	// are keyed by (host address) instead of passing them through: the
	// same claims, root ports, guest paths and agent requests, another
	// QEMU device, nothing bound (devicemgr.StandIn). No front end sets it.
	StandIns map[string]*devicemgr.StandIn
	// tpl makes the VM a template's own or a clone of it (template.go):
	// set by EnsureTemplate and CloneWarm, kept by the clone's sandbox.
	tpl *vm.Template
}

// Names in the sandbox directory.
const (
	// VMDirName is the VM's own directory: QEMU's and virtiofsd's sockets,
	// pid file and logs.
	VMDirName = "vm"
	// RecordName is the crash record.
	RecordName = "record.json"
)

// VMDir is the VM's directory of the sandbox directory dir.
func VMDir(dir string) string { return filepath.Join(dir, VMDirName) }

func (c Config) vmDir() string      { return VMDir(c.Dir) }
func (c Config) recordPath() string { return filepath.Join(c.Dir, RecordName) }
func (c Config) sysfs() string      { return cmp.Or(c.SysfsRoot, "/sys") }

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// allocDir is where this host's device claims are kept.
func (c Config) allocDir() string {
	return c.Config.Devices.AllocationDirUnder(cmp.Or(c.Root, c.Config.Runtime.Root))
}

// stopBudget bounds the teardown of a VM, which must not depend on the ctx
// of whatever asked for it (a create that failed because ctx ended, a
// client that went away).
const stopBudget = 30 * time.Second

// Observer hears what happens to a sandbox between the front end's calls.
// Its methods are called from the engine's own goroutines, one at a time
// per process, and must not block for long.
type Observer interface {
	// ProcessExited: a container's init or exec has exited and its output
	// has been relayed. Called once per process.
	ProcessExited(p *Process, e Exit)
	// SandboxDied: QEMU exited under the sandbox. Every process has been
	// reported exited first.
	SandboxDied(err error)
	// Degraded: a share's server died under the running VM; the engine
	// now refuses the requests that would touch it.
	Degraded(reason string)
}

type nopObserver struct{}

func (nopObserver) ProcessExited(*Process, Exit) {}
func (nopObserver) SandboxDied(error)            {}
func (nopObserver) Degraded(string)              {}
