package vm

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kite-vm/kite/agent/client"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu"
)

// agentDeviceID is the QEMU id of the agent's device (serial port or vsock).
const agentDeviceID = "agent"

// planAgent resolves agent.transport against the host and returns the
// agent's plan and device.
func planAgent(a configs.Agent, in Input) (AgentPlan, qemu.Device, error) {
	p := AgentPlan{
		Transport:   client.TransportSerial,
		DialTimeout: a.DialTimeout.Duration(),
		CallTimeout: a.RequestTimeout.Duration(),
	}
	switch a.Transport {
	case configs.TransportVsock:
		if !in.Host.VhostVsock {
			return AgentPlan{}, nil, fmt.Errorf("%w: agent.transport is \"vsock\" but /dev/vhost-vsock does not open (try: modprobe vhost_vsock, or use \"auto\")", ErrHost)
		}
		p.Transport = client.TransportVsock
	case configs.TransportAuto:
		if in.Host.VhostVsock {
			p.Transport = client.TransportVsock
		}
	}
	if p.Transport == client.TransportSerial {
		p.SocketPath = filepath.Join(in.Dir, agentSocketName)
		return p, qemu.SerialPort{ID: agentDeviceID, SocketPath: p.SocketPath, Name: protocol.SerialPortName}, nil
	}
	if in.GuestCID < 3 || in.GuestCID == 1<<32-1 {
		return AgentPlan{}, nil, fmt.Errorf("%w: the agent goes over vsock, which needs a guest CID (3..2^32-2), got %d", ErrInvalid, in.GuestCID)
	}
	p.GuestCID, p.VsockPort = in.GuestCID, uint32(a.VsockPort)
	return p, qemu.Vsock{ID: agentDeviceID, GuestCID: in.GuestCID}, nil
}

// kernelCmdline is the guest's command line: Kite's words first, then the
// agent's options (agent/server/bootopts reads them), then the operator's
// kernel_params, which the kernel lets override ours.
func kernelCmdline(cfg *configs.Config, accel qemu.AccelType, host Host, agent AgentPlan) (string, error) {
	var w []string
	if cfg.Hypervisor.ConsoleLog {
		w = append(w, "console=ttyS0")
	}
	w = append(w, "panic=1", "quiet")
	// The crypto self-tests take 0.7 s of the Debian kernel's boot under
	// TCG (crypto_kdf108_init, crypto_algapi_init); the Kite kernel is
	// built without them. The agent uses no kernel crypto.
	w = append(w, "cryptomgr.notests")
	if !host.VFIO {
		// With memory that may reach above 4 GiB (memory slots, or more
		// than 2 GiB of RAM) the kernel forces a 64 MiB bounce buffer for
		// devices that cannot address it, and zeroes it at boot. Every
		// device of a pod on a host without VFIO is virtio or emulated and
		// addresses all of memory: 65 MiB less per pod, and a faster boot.
		// A passed-through function's DMA mask is the hardware's, so a host
		// with VFIO keeps the kernel's choice.
		w = append(w, "swiotlb=noforce")
	}
	if accel == qemu.AccelTCG {
		// Under TCG on a loaded host the kernel's check that the timer
		// interrupt reaches the IO-APIC can miss its window and panic
		// ("IO-APIC + timer doesn't work!"): measured here under load.
		w = append(w, "no_timer_check")
	}
	if cfg.Hypervisor.Machine == configs.MachineMicroVM {
		// microvm's root ports hotplug natively only.
		w = append(w, "pcie_ports=native")
		if accel == qemu.AccelTCG {
			if host.TSCKHz <= 0 {
				return "", fmt.Errorf("%w: a microvm guest under TCG needs the host TSC frequency (Host.TSCKHz) or it can hang at boot", ErrHost)
			}
			w = append(w, "tsc_early_khz="+strconv.Itoa(host.TSCKHz))
		}
	}
	if cfg.Hypervisor.EnableIOMMU {
		// The Debian kernel leaves VT-d off unless asked. Passthrough mode
		// (iommu=pt) keeps direct DMA for the devices the guest's own
		// drivers hold; only those it gives vfio-pci get translated.
		w = append(w, "intel_iommu=on", "iommu=pt")
	}
	if agent.Transport == client.TransportVsock {
		w = append(w, "kite.transport=vsock", "kite.vsock_port="+strconv.FormatUint(uint64(agent.VsockPort), 10))
	} else {
		w = append(w, "kite.transport=virtio-serial", "kite.port="+protocol.SerialPortName)
	}
	w = append(w, "kite.log="+string(cfg.Agent.LogLevel))
	if extra := strings.TrimSpace(cfg.Hypervisor.KernelParams); extra != "" {
		w = append(w, extra)
	}
	return strings.Join(w, " "), nil
}
