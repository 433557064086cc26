package tasks

import (
	"net/netip"

	"github.com/kite-vm/kite/shim/internal/portfwd"
	"github.com/kite-vm/kite/spec"
)

// CRI's annotation of a sandbox (pause) container.
const (
	annotationContainerType = "io.kubernetes.cri.container-type"
	containerTypeSandbox    = "sandbox"
)

// podAddress reads, before the VM boots (a macvtap or tap endpoint takes
// the addresses off the pod interface), the address port-forwarded
// connections go to, for a CRI pod with a network namespace; the zero
// address when there is nothing to forward.
func (p *pod) podAddress(first *spec.Container) netip.Addr {
	if first.NetnsPath == "" || first.Annotations[annotationContainerType] != containerTypeSandbox {
		return netip.Addr{}
	}
	addr, err := portfwd.PodAddress(first.NetnsPath)
	if err != nil {
		p.log.Warn("port forwarding off: no pod address", "err", err)
	}
	return addr
}

// startForwarding starts the pod's port forwarder (portfwd): containerd's
// port-forward dials localhost in the pod netns, and the workload is in
// the VM. A forwarder that cannot start leaves the pod running without
// port-forward, as before, and says why in the log.
func (p *pod) startForwarding(netnsPath string, addr netip.Addr) {
	if !addr.IsValid() {
		return
	}
	f, err := portfwd.Start(netnsPath, addr, p.log)
	if err != nil {
		p.log.Warn("port forwarding off", "err", err)
		return
	}
	p.mu.Lock()
	p.fwd = f
	p.mu.Unlock()
	p.log.Debug("port forwarding", "listener", f.Addr(), "pod_address", addr)
}

// stopForwarding stops the pod's port forwarder, if it has one.
func (p *pod) stopForwarding() {
	p.mu.Lock()
	f := p.fwd
	p.fwd = nil
	p.mu.Unlock()
	if f == nil {
		return
	}
	if err := f.Close(); err != nil {
		p.log.Warn("stopping port forwarding", "err", err)
	}
}
