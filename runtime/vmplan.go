package runtime

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
)

// VMInput is what PlanVM needs besides the configuration.
type VMInput struct {
	// ID is the sandbox id; it names the VM in QEMU.
	ID string
	// Dir is the sandbox directory (normally <runtime.root>/<id>): sockets,
	// logs and the pid file go there. BootVM creates it; it must not exist.
	Dir string
	// Host is what the host offers (DetectHost).
	Host Host
	// GuestCID is the VM's vsock context id, unique on the host; required
	// only when the agent transport resolves to vsock.
	GuestCID uint32
	// Shares are the host directories to attach at boot.
	Shares []Share
	// SharedDir asks for the sandbox's shared directory (see VM.ShareDir):
	// <Dir>/shared, exported as the share SharedTag before Shares, so that
	// VMPlan.Mounts[0] is its mount.
	SharedDir bool
	// DAXVolumes are read-only data images attached as NVDIMMs.
	DAXVolumes []DAXVolume
	// PCIDevices are host PCI functions (BDFs) to pass through, allocated
	// to this sandbox by the caller (devicemgr.Allocator): BootVM binds
	// them to vfio-pci, restored when the VM stops.
	PCIDevices []string
	// SysfsRoot stands for /sys when binding PCIDevices ("" is "/sys").
	SysfsRoot string
	// NetnsPath is the pod's network namespace: BootVM carries its
	// interfaces into the VM (network.model) and configures the guest with
	// their addresses, routes and neighbors. Empty: no network.
	NetnsPath string
	// CPUSet is the container's cpuset (OCI linux.resources.cpu.cpus, e.g.
	// parsed with devicemgr.ParseCPUList): with hypervisor.vcpu_pinning,
	// BootVM pins vCPU i to CPUSet[i % len(CPUSet)]. Empty: no pinning.
	CPUSet []int
	// NUMANode is the host NUMA node of the pod's passed-through devices:
	// with hypervisor.hugepages the guest RAM is bound to it. nil: no
	// binding.
	NUMANode *int
}

// numaNode is NUMANode, -1 for none.
func (in VMInput) numaNode() int {
	if in.NUMANode == nil {
		return -1
	}
	return *in.NUMANode
}

// VMPlan is everything BootVM does, decided up front.
type VMPlan struct {
	ID  string
	Dir string
	// QEMU is the VM; its Kernel.Append is the guest kernel command line.
	QEMU qemu.Config
	// QEMULog receives QEMU's stdout and stderr.
	QEMULog string
	Agent   AgentPlan
	// Virtiofsd has one entry per virtio-fs share, in share order.
	Virtiofsd []VirtiofsdPlan
	// Mounts says how the agent mounts each share, in share order.
	Mounts []ShareMount
	// Shares are the inputs, kept for the host-side checks of BootVM.
	Shares []Share
	// SharedDir is the host path of the sandbox's shared directory, which
	// BootVM creates; empty without VMInput.SharedDir.
	SharedDir string
	// Network is how the pod's network is carried (NetnsPath empty: none).
	Network NetworkPlan
	// SharedFS is the shared_fs section, for the shares AddVolume starts.
	SharedFS configs.SharedFS
	// NinePSlots are the 9p backends reserved for hot-plugged 9p volumes.
	NinePSlots []ninePSlot
	// DAX are the DAX volumes' NVDIMMs, in pmem order.
	DAX []daxPlan
	// PCI are the passed-through functions, each on a root port of its own.
	PCI []pciDevice
	// SysfsRoot is /sys, or where a test stands it.
	SysfsRoot string
	// ShutdownTimeout bounds each step of stopping QEMU (quit, SIGTERM).
	ShutdownTimeout time.Duration
	// Pinning is where BootVM pins QEMU's threads (hypervisor.vcpu_pinning).
	Pinning CPUPinning
}

// AgentPlan is how the host reaches the agent.
type AgentPlan struct {
	Transport client.Transport
	// SocketPath is the unix socket QEMU's virtio-serial port connects to
	// (virtio-serial only).
	SocketPath string
	// GuestCID and VsockPort address the agent over vsock (vsock only).
	GuestCID  uint32
	VsockPort uint32
	// DialTimeout bounds the wait from QEMU's start until the agent answers.
	DialTimeout time.Duration
	// CallTimeout is the deadline of agent calls whose ctx has none.
	CallTimeout time.Duration
}

// ShareMount is how the agent mounts a share in the guest, for a later
// AddStorage.
type ShareMount struct {
	Tag      string
	Driver   protocol.StorageDriver
	Options  []string // mount(8) -o options, e.g. the 9p msize
	ReadOnly bool
}

// Storage returns the agent request that mounts the share as storage id,
// at mountPoint ("" for the agent's default under its storage root).
func (m ShareMount) Storage(id, mountPoint string) *protocol.Storage {
	return &protocol.Storage{
		Id:         id,
		Driver:     m.Driver,
		Source:     m.Tag,
		MountPoint: mountPoint,
		Options:    append([]string(nil), m.Options...),
		Readonly:   m.ReadOnly,
	}
}

// Files in the sandbox directory.
const (
	qmpSocketName   = "qmp.sock"
	agentSocketName = "agent.sock"
	pidFileName     = "qemu.pid"
	qemuLogName     = "qemu.log"
	consoleLogName  = "console.log"
	bindDirName     = "shares" // mount points of read-only binds
)

// maxSocketPath is the longest path a unix socket can be bound at
// (sun_path is 108 bytes with its terminating NUL).
const maxSocketPath = 107

// PlanVM decides how to boot the sandbox's VM. It is pure: it reads neither
// the host nor the file system (BootVM checks the files it names), except
// the guest root image's header with guest.image_type "nvdimm" (planImage).
func PlanVM(cfg *configs.Config, in VMInput) (VMPlan, error) {
	if err := cfg.Validate(); err != nil {
		return VMPlan{}, fmt.Errorf("planning sandbox %q: %w", in.ID, err)
	}
	if err := in.validate(cfg.SharedFS.Driver); err != nil {
		return VMPlan{}, fmt.Errorf("planning sandbox %q: %w", in.ID, err)
	}
	p, err := plan(cfg, in)
	if err != nil {
		return VMPlan{}, fmt.Errorf("planning sandbox %q: %w", in.ID, err)
	}
	if _, err := p.QEMU.Build(); err != nil {
		return VMPlan{}, fmt.Errorf("planning sandbox %q: %w", in.ID, err)
	}
	return p, nil
}

func plan(cfg *configs.Config, in VMInput) (VMPlan, error) {
	image, err := planImage(cfg)
	if err != nil {
		return VMPlan{}, err
	}
	accel, err := planAccel(cfg.Hypervisor, in.Host)
	if err != nil {
		return VMPlan{}, err
	}
	agent, agentDev, err := planAgent(cfg.Agent, in)
	if err != nil {
		return VMPlan{}, err
	}
	shares := planShares(cfg.SharedFS, in.Dir, in.allShares())
	appendLine, err := kernelCmdline(cfg, accel.Type, in.Host, agent)
	if err != nil {
		return VMPlan{}, err
	}
	if err := checkHugepages(cfg.Hypervisor, in.Host.Hugepages, in.numaNode()); err != nil {
		return VMPlan{}, err
	}
	pinning, err := planPinning(cfg.Hypervisor, in.CPUSet)
	if err != nil {
		return VMPlan{}, err
	}
	p := VMPlan{
		ID:              in.ID,
		Dir:             in.Dir,
		QEMU:            qemuConfig(cfg, in, accel),
		QEMULog:         filepath.Join(in.Dir, qemuLogName),
		Agent:           agent,
		Virtiofsd:       shares.virtiofsd,
		Mounts:          shares.mounts,
		Shares:          append([]Share(nil), in.Shares...),
		SharedDir:       in.sharedDirPath(),
		Network:         planNetworkInput(cfg, in.NetnsPath, accel.Type),
		SharedFS:        cfg.SharedFS,
		ShutdownTimeout: cfg.Hypervisor.ShutdownTimeout.Duration(),
		Pinning:         pinning,
	}
	p.QEMU.Kernel.Append = image.cmdline(appendLine)
	p.QEMU.Devices = append(append([]qemu.Device{agentDev}, image.devices...), shares.devices...)
	var ninePDevs, daxDevs []qemu.Device
	p.NinePSlots, ninePDevs = planNinePSlots(cfg, in.Dir)
	p.QEMU.Devices = append(p.QEMU.Devices, ninePDevs...)
	if p.DAX, daxDevs, err = planDAX(cfg, in.DAXVolumes, len(image.devices), image.bytes()); err != nil {
		return VMPlan{}, err
	}
	p.QEMU.Devices = append(p.QEMU.Devices, daxDevs...)
	var pciPorts []qemu.RootPort
	var pciDevs []qemu.Device
	if p.PCI, pciPorts, pciDevs, err = planPCIDevices(in.PCIDevices); err != nil {
		return VMPlan{}, err
	}
	p.QEMU.RootPorts = append(pciPorts, p.QEMU.RootPorts...)
	p.QEMU.Devices = append(p.QEMU.Devices, pciDevs...)
	p.SysfsRoot = cmp.Or(in.SysfsRoot, "/sys")
	return p, p.checkSocketPaths()
}

func (in VMInput) validate(driver configs.FSDriver) error {
	switch {
	case in.ID == "" || strings.Trim(in.ID, tagChars) != "" || strings.Contains(in.ID, ":") || in.ID[0] == '.' || in.ID[0] == '-':
		return fmt.Errorf("%w: sandbox id %q: want letters, digits and _.- not starting with . or -", ErrInvalid, in.ID)
	case !filepath.IsAbs(in.Dir) || filepath.Clean(in.Dir) != in.Dir:
		return fmt.Errorf("%w: sandbox directory %q is not a clean absolute path", ErrInvalid, in.Dir)
	case in.NetnsPath != "" && !filepath.IsAbs(in.NetnsPath):
		return fmt.Errorf("%w: network namespace %q is not an absolute path", ErrInvalid, in.NetnsPath)
	}
	return validateShares(in.allShares(), driver)
}

// checkSocketPaths refuses socket paths the kernel cannot bind, naming the
// socket, rather than letting QEMU or virtiofsd fail on them later.
func (p VMPlan) checkSocketPaths() error {
	paths := []string{p.QEMU.QMPSocket}
	if p.Agent.SocketPath != "" {
		paths = append(paths, p.Agent.SocketPath)
	}
	for _, v := range p.Virtiofsd {
		paths = append(paths, v.SocketPath)
	}
	for _, s := range paths {
		if len(s) > maxSocketPath {
			return fmt.Errorf("%w: socket path %q is %d bytes, the kernel allows %d: use a shorter sandbox directory", ErrInvalid, s, len(s), maxSocketPath)
		}
	}
	return nil
}
