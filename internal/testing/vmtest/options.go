package vmtest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/fsshare"
	"github.com/kite-vm/kite/qemu"
	"github.com/kite-vm/kite/vm"
	"github.com/kite-vm/kite/vm/attach"
)

// Options shape the test VM. The zero value boots the default guest with
// nothing attached.
type Options struct {
	MemoryMiB     int           // default 256
	MemorySlots   int           // hotplug memory slots, one per NVDIMM
	MaxMemoryMiB  int           // RAM plus NVDIMM room; needs MemorySlots
	SharedMemory  bool          // memfd-backed RAM, for vhost-user Devices
	RootPorts     int           // spare pcie-root-ports named rp0.. for hot plug
	NativeHotplug bool          // PCIe native hotplug instead of ACPI
	Devices       []qemu.Device // cold-plugged, after the Rootfs share
	KernelArgs    string        // appended to the kernel command line
	BootTimeout   time.Duration // until the agent answers; default 90s
	// Rootfs is a host directory (BusyboxRootfs) shared with the guest and
	// mounted as storage RootfsStorage by a CreateSandbox that Start sends:
	// what Run's containers run on. "" for none (and no sandbox).
	Rootfs string
	// SharedFS is how Rootfs is shared: configs.FSVirtio9P (the default) or
	// configs.FSVirtioFS (a virtiofsd of its own, and shared guest memory).
	SharedFS configs.FSDriver
	// AgentReconnect makes QEMU reconnect the agent channel after the host
	// closed it, for Reconnect.
	AgentReconnect bool
	// Initrd overrides the guest initramfs (e.g. the busybox-only baseline).
	Initrd string
	// WaitMarker, when set, makes Start wait for this text on the guest
	// console instead of for the agent (for images without an agent).
	WaitMarker string
}

const (
	defaultMemoryMiB   = 256
	defaultBootTimeout = 90 * time.Second
	// RootfsStorage is the storage id under which the guest mounts
	// Options.Rootfs.
	RootfsStorage = "rootfs"
	// SandboxID is the id (and hostname) of the sandbox Start creates with
	// Options.Rootfs.
	SandboxID = "pod1"
	// rootfsShare is the rootfs share's attachment name, QEMU id and tag.
	rootfsShare = "rootfs"
)

// host is what the harness reads of the machine and the environment,
// passed in so that planning stays pure.
type host struct {
	QEMU     string // qemu-system-x86_64
	GuestDir string // vmlinux and initramfs.cpio.gz
	Accel    qemu.AccelType
	Facts    vm.Host // vm.DetectHost; Accel is overridden by Accel
}

func (o Options) bootTimeout() time.Duration { return cmp.Or(o.BootTimeout, defaultBootTimeout) }

func (o Options) validate() error {
	switch {
	case o.WaitMarker != "" && o.Rootfs != "":
		return errors.New("WaitMarker boots an image without an agent, which cannot mount Rootfs")
	case o.WaitMarker != "" && o.AgentReconnect:
		return errors.New("WaitMarker boots an image without an agent: AgentReconnect means nothing there")
	case o.SharedMemory && len(o.Devices) == 0:
		return errors.New("SharedMemory is what a device's backend needs (vhost-user): give the device in Devices")
	}
	return nil
}

// config maps the options onto Kite's configuration.
func (o Options) config(h host) *configs.Config {
	cfg := configs.Default()
	hv := &cfg.Hypervisor
	hv.Path = h.QEMU
	hv.Accel = configs.Accel(h.Accel)
	hv.MemoryMiB = cmp.Or(o.MemoryMiB, defaultMemoryMiB)
	hv.MemorySlots = o.MemorySlots
	// The default 8 GiB maxmem would put a hot-plug range above 4 GiB in
	// the guest's SRAT, which costs boot time (FIELD-NOTES): room only
	// when asked for.
	hv.MaxMemoryMiB = max(o.MaxMemoryMiB, hv.MemoryMiB)
	hv.KernelParams = o.KernelArgs
	if o.NativeHotplug {
		cfg.Hotplug.Method = configs.HotplugNative
	}
	// Not "auto": Reconnect needs the serial port, and a test should not
	// change transport with the host it runs on.
	cfg.Agent.Transport = configs.TransportVirtioSerial
	if o.AgentReconnect {
		// QEMU reconnects by path, into the VM directory, which only a
		// QEMU running as root can reach (the engine never reconnects).
		hv.User = configs.UserRoot
	}
	cfg.Agent.DialTimeout = configs.Duration(o.bootTimeout())
	cfg.Guest.Dir = h.GuestDir
	if o.Initrd != "" {
		cfg.Guest.Initrd = o.Initrd
	}
	// 9p by default: no extra process, and guest memory stays private
	// unless a device asks for it.
	cfg.SharedFS.Driver = cmp.Or(o.SharedFS, configs.FSVirtio9P)
	return cfg
}

// plan plans the VM the options describe, with its directory dir. It
// returns the rootfs share (nil without Options.Rootfs).
func (o Options) plan(h host, id, dir string) (vm.Plan, *fsshare.Share, error) {
	if err := o.validate(); err != nil {
		return vm.Plan{}, nil, err
	}
	cfg := o.config(h)
	var atts []attach.Attachment
	var share *fsshare.Share
	if o.Rootfs != "" {
		var err error
		share, err = fsshare.NewShare(cfg.SharedFS, dir, rootfsShare, rootfsShare, o.Rootfs, false)
		if err != nil {
			return vm.Plan{}, nil, fmt.Errorf("sharing the rootfs: %w", err)
		}
		atts = append(atts, share)
	}
	atts = append(atts, coldDevices(o.Devices, o.SharedMemory)...)
	facts := h.Facts
	facts.Accel = h.Accel
	p, err := vm.PlanMachine(cfg, vm.Input{
		ID:          id,
		Dir:         dir,
		Host:        facts,
		RootPorts:   qemu.RootPortPool("rp", o.RootPorts),
		Attachments: atts,
	})
	if err != nil {
		return vm.Plan{}, nil, err
	}
	if o.AgentReconnect {
		if err := reconnectAgent(&p); err != nil {
			return vm.Plan{}, nil, err
		}
	}
	return p, share, nil
}

// reconnectAgent sets reconnect=1 on the agent's chardev. The engine has no
// knob for it (its agent connection lives as long as the process that
// booted the VM), so the harness edits the planned device.
func reconnectAgent(p *vm.Plan) error {
	p.QEMU.Devices = slices.Clone(p.QEMU.Devices)
	for i, d := range p.QEMU.Devices {
		if s, ok := d.(qemu.SerialPort); ok && s.SocketPath == p.Agent.SocketPath {
			s.Reconnect = 1
			p.QEMU.Devices[i] = s
			return nil
		}
	}
	return fmt.Errorf("AgentReconnect: the plan has no serial port on the agent socket %q", p.Agent.SocketPath)
}

// previewCmdline renders the command line Boot will run: the plan's QEMU
// config with its attachments' devices, all of which the harness can
// preview (they open nothing).
func previewCmdline(p vm.Plan) (qemu.Cmdline, error) {
	cfg := p.QEMU
	cfg.Devices = slices.Clone(cfg.Devices)
	for _, a := range p.Attachments {
		pv, ok := a.(attach.Previewer)
		if !ok {
			return qemu.Cmdline{}, fmt.Errorf("attachment %q cannot be previewed", a.Name())
		}
		cfg.Devices = append(cfg.Devices, pv.Preview())
	}
	return cfg.Build()
}
