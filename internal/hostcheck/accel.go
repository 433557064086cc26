package hostcheck

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

const kvmGetAPIVersion = 0xAE00 // _IO(KVMIO, 0x00)

// kvmUsable reports whether /dev/kvm can run an ordinary guest kernel, with
// the reason when it cannot.
func kvmUsable(o Options) (bool, string) {
	f, err := os.OpenFile(o.path("/dev/kvm"), os.O_RDWR, 0)
	if err != nil {
		return false, fmt.Sprintf("/dev/kvm: %v", err)
	}
	defer f.Close()
	v, err := unix.IoctlRetInt(int(f.Fd()), kvmGetAPIVersion)
	if err != nil {
		return false, fmt.Sprintf("/dev/kvm is not a KVM device: %v", err)
	}
	if v != 12 {
		return false, fmt.Sprintf("/dev/kvm reports API version %d, want 12", v)
	}
	// The PVM flavour of KVM opens like KVM but only runs guest kernels built
	// for it, not the distribution kernel Kite boots.
	if _, err := os.Stat(o.path("/sys/module/kvm_pvm")); err == nil {
		return false, "/dev/kvm is PVM (kvm_pvm), which cannot boot the Debian guest kernel"
	}
	return true, "/dev/kvm opens (API 12)"
}

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
