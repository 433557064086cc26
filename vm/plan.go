package vm

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm/attach"
)

// Input is what PlanMachine needs besides the configuration: what the
// collect step read of the host, and what the subsystems planned.
type Input struct {
	// ID is the sandbox id; it names the VM in QEMU.
	ID string
	// Dir is the VM's directory: sockets, logs and the pid file go there.
	// Boot creates it; it must not exist.
	Dir string
	// Host is what the host offers (DetectHost).
	Host Host
	// GuestCID is the VM's vsock context id, unique on the host; required
	// only when the agent transport resolves to vsock.
	GuestCID uint32
	// RootImage is the guest root image with guest.image_type "nvdimm", as
	// collected from its header (its size); nil otherwise.
	RootImage *RootImage
	// RootPorts are the VM's PCIe root ports, from the guest PCI topology:
	// the ports of cold-plugged devices and the spares for hot plug.
	RootPorts []qemu.RootPort
	// Attachments are the devices plugged at boot, in command-line order.
	Attachments []attach.Attachment
	// CPUSet is the container's cpuset (host CPUs): with
	// hypervisor.vcpu_pinning, Boot pins vCPU i to CPUSet[i % len(CPUSet)].
	CPUSet []int
	// NUMANode is the host NUMA node of the pod's passed-through devices:
	// with hypervisor.hugepages the guest RAM is bound to it. nil: none.
	NUMANode *int
	// PodMemoryBytes is the pod's memory limit, which guest RAM is sized
	// from with hypervisor.memory_from_pod; 0: none, memory_mib is taken.
	PodMemoryBytes int64
	// Template makes the VM a template's own or a clone of it; nil boots
	// an ordinary VM.
	Template *Template
}

// RootImage is the guest OS image mapped as a read-only NVDIMM.
type RootImage struct {
	Path string
	Size int64
}

func (in Input) numaNode() int {
	if in.NUMANode == nil {
		return -1
	}
	return *in.NUMANode
}

// Plan is everything Boot does, decided up front. Boot does not change it.
type Plan struct {
	ID  string
	Dir string
	// QEMU is the VM without the attachments' devices, which Boot adds
	// once their host side is done; Kernel.Append is the guest's command
	// line.
	QEMU qemu.Config
	// QEMULog receives QEMU's stdout and stderr.
	QEMULog string
	// QEMUUser is who QEMU runs as (hypervisor.user): "root", a user name
	// or "uid:gid", resolved by Boot.
	QEMUUser string
	Agent    AgentPlan
	// Attachments are the cold-plugged devices, in command-line order.
	Attachments []attach.Attachment
	// ShutdownTimeout bounds each step of stopping QEMU (quit, SIGTERM).
	ShutdownTimeout time.Duration
	// Pinning is where Boot pins QEMU's threads (hypervisor.vcpu_pinning).
	Pinning CPUPinning
	// Memory says how the guest RAM (QEMU.Memory.SizeMiB) was sized.
	Memory MemorySizing
	// Template is Input.Template: a clone's Boot restores the saved state
	// rather than booting the guest.
	Template *Template
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

// Files in the VM directory.
const (
	qmpSocketName   = "qmp.sock"
	agentSocketName = "agent.sock"
	pidFileName     = "qemu.pid"
	qemuLogName     = "qemu.log"
	consoleLogName  = "console.log"
)

// MaxSocketPath is the longest path a unix socket can be bound at
// (sun_path is 108 bytes with its terminating NUL).
const MaxSocketPath = 107

// idChars are what a sandbox id may hold.
const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

// PlanMachine decides how to boot the VM. It is pure: it reads neither the
// host nor the file system (Boot checks the files the plan names).
func PlanMachine(cfg *configs.Config, in Input) (Plan, error) {
	if err := cfg.Validate(); err != nil {
		return Plan{}, fmt.Errorf("planning sandbox %q: %w", in.ID, err)
	}
	if err := in.validate(); err != nil {
		return Plan{}, fmt.Errorf("planning sandbox %q: %w", in.ID, err)
	}
	p, err := plan(cfg, in)
	if err != nil {
		return Plan{}, fmt.Errorf("planning sandbox %q: %w", in.ID, err)
	}
	if _, err := p.QEMU.Build(); err != nil {
		return Plan{}, fmt.Errorf("planning sandbox %q: %w", in.ID, err)
	}
	return p, nil
}

func plan(cfg *configs.Config, in Input) (Plan, error) {
	accel, err := planAccel(cfg.Hypervisor, in.Host)
	if err != nil {
		return Plan{}, err
	}
	agent, agentDev, err := planAgent(cfg.Agent, in)
	if err != nil {
		return Plan{}, err
	}
	appendLine, err := kernelCmdline(cfg, accel.Type, in.Host, agent)
	if err != nil {
		return Plan{}, err
	}
	needs := needsOf(in.Attachments)
	cfg, sizing := withPodMemory(cfg, in, appendLine, needs)
	image, err := planImage(cfg, in.RootImage)
	if err != nil {
		return Plan{}, err
	}
	if err := checkHugepages(cfg.Hypervisor, in.Host.Hugepages, in.numaNode()); err != nil {
		return Plan{}, err
	}
	pinning, err := planPinning(cfg.Hypervisor, in.CPUSet)
	if err != nil {
		return Plan{}, err
	}
	mem, err := memory(cfg, in, needs, image.size)
	if err != nil {
		return Plan{}, err
	}
	p := Plan{
		ID:              in.ID,
		Dir:             in.Dir,
		QEMU:            qemuConfig(cfg, in, accel, mem),
		QEMULog:         filepath.Join(in.Dir, qemuLogName),
		QEMUUser:        cfg.Hypervisor.User,
		Agent:           agent,
		Attachments:     append([]attach.Attachment(nil), in.Attachments...),
		ShutdownTimeout: cfg.Hypervisor.ShutdownTimeout.Duration(),
		Pinning:         pinning,
		Memory:          sizing,
	}
	p.QEMU.Kernel.Append = image.cmdline(appendLine)
	p.QEMU.Devices = append(append([]qemu.Device{agentDev}, image.devices...), planBalloon(cfg.Hypervisor)...)
	if in.Template != nil {
		if err := planTemplate(cfg, in, needs, &p); err != nil {
			return Plan{}, err
		}
	}
	return p, p.checkSocketPaths(needs.Sockets)
}

func (in Input) validate() error {
	switch {
	case in.ID == "" || strings.Trim(in.ID, idChars) != "" || in.ID[0] == '.' || in.ID[0] == '-':
		return fmt.Errorf("%w: sandbox id %q: want letters, digits and _.- not starting with . or -", ErrInvalid, in.ID)
	case !filepath.IsAbs(in.Dir) || filepath.Clean(in.Dir) != in.Dir:
		return fmt.Errorf("%w: sandbox directory %q is not a clean absolute path", ErrInvalid, in.Dir)
	}
	seen := map[string]bool{}
	for _, a := range in.Attachments {
		if seen[a.Name()] {
			return fmt.Errorf("%w: two devices are named %q", ErrInvalid, a.Name())
		}
		seen[a.Name()] = true
	}
	return nil
}

// needsOf sums what the attachments require of the machine.
func needsOf(as []attach.Attachment) attach.Needs {
	var n attach.Needs
	for _, a := range as {
		an := a.Needs()
		n.SharedMemory = n.SharedMemory || an.SharedMemory
		n.NVDIMMBytes += an.NVDIMMBytes
		n.Sockets = append(n.Sockets, an.Sockets...)
	}
	return n
}

// checkSocketPaths refuses socket paths the kernel cannot bind, naming the
// socket, rather than letting QEMU or virtiofsd fail on them later.
func (p Plan) checkSocketPaths(more []string) error {
	paths := []string{p.QEMU.QMPSocket}
	if p.Agent.SocketPath != "" {
		paths = append(paths, p.Agent.SocketPath)
	}
	for _, s := range append(paths, more...) {
		if len(s) > MaxSocketPath {
			return fmt.Errorf("%w: socket path %q is %d bytes, the kernel allows %d: use a shorter sandbox directory", ErrInvalid, s, len(s), MaxSocketPath)
		}
	}
	return nil
}

// Preview renders the command line the plan will boot, with the devices
// of the attachments known before they attach (attach.Previewer: shares,
// functions, disks, NVDIMMs); those that open files first (a NIC's tap
// queues) are left out. It is for reading a plan (golden tests, dry runs),
// not for starting QEMU.
func (p Plan) Preview() (qemu.Cmdline, error) {
	cfg := p.QEMU
	cfg.Devices = append([]qemu.Device(nil), cfg.Devices...)
	for _, a := range p.Attachments {
		if pv, ok := a.(attach.Previewer); ok {
			if d := pv.Preview(); d != nil {
				cfg.Devices = append(cfg.Devices, d)
			}
		}
	}
	return cfg.Build()
}
