package hostcheck

import (
	"context"

	"github.com/kite-vm/kite/qemu"
)

// kvmUsable applies the runtime's own rule (qemu.KVMUsable) under o.Root.
func kvmUsable(o Options) (bool, string) { return qemu.KVMUsable(o.Root) }

func probeAccel(_ context.Context, o Options) Result {
	r := Result{Name: "accelerator", Required: true}
	usable, why := kvmUsable(o)
	switch {
	case o.Accel == "tcg":
		r.Status, r.Detail = OK, "tcg (configured); "+why
	case usable:
		r.Status, r.Detail = OK, "kvm: "+why
	case o.Accel == "kvm":
		r.Status, r.Detail = Fail, "kvm configured but unusable: "+why
		r.Hint = "set hypervisor.accel = \"auto\" or \"tcg\", or enable KVM (modprobe kvm_intel / kvm_amd, nested virtualization on)"
	default:
		r.Status, r.Detail = Warn, "tcg fallback (software emulation, much slower): "+why
		r.Hint = "enable KVM for speed: load kvm_intel or kvm_amd and give this user rw access to /dev/kvm"
	}
	return r
}
