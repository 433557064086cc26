package qemu

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// AccelType is the QEMU accelerator.
type AccelType string

// Accelerators.
const (
	AccelKVM AccelType = "kvm"
	AccelTCG AccelType = "tcg"
)

// Accel selects the accelerator.
type Accel struct {
	Type AccelType
	// TBSizeMiB bounds TCG's translation-block cache (tb-size); 0 keeps
	// QEMU's default. Measured: the default cache costs ~53 MiB of RSS per
	// VM, tb-size=32 trims it. TCG only.
	TBSizeMiB int
}

// DetectAccel picks KVM when KVMUsable(root) says so, TCG otherwise. root
// prefixes /dev and /sys ("" or "/" for the real host).
func DetectAccel(root string) Accel {
	if ok, _ := KVMUsable(root); ok {
		return Accel{Type: AccelKVM}
	}
	return Accel{Type: AccelTCG}
}

const kvmGetAPIVersion = 0xAE00 // _IO(KVMIO, 0x00)

// KVMUsable reports whether root/dev/kvm can run an ordinary guest kernel, and
// why not when it cannot: the node must open read-write, answer
// KVM_GET_API_VERSION with 12, and not be the PVM flavour of KVM (kvm_pvm
// opens like KVM but only runs guest kernels built for PVM, not Debian's).
func KVMUsable(root string) (bool, string) {
	if _, err := os.Stat(filepath.Join(root, "/sys/module/kvm_pvm")); err == nil {
		return false, "/dev/kvm is PVM (kvm_pvm), which cannot boot the Debian guest kernel"
	}
	f, err := os.OpenFile(filepath.Join(root, "/dev/kvm"), os.O_RDWR, 0)
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
	return true, "/dev/kvm opens (API 12)"
}

// Validate checks the accelerator alone.
func (a Accel) Validate() error {
	switch a.Type {
	case AccelKVM:
		if a.TBSizeMiB != 0 {
			return invalid("", "", "Accel.TBSizeMiB", "is a TCG option")
		}
	case AccelTCG:
		if a.TBSizeMiB < 0 {
			return invalid("", "", "Accel.TBSizeMiB", "%d is negative", a.TBSizeMiB)
		}
	default:
		return invalid("", "", "Accel.Type", "%q is not kvm or tcg", a.Type)
	}
	return nil
}

func (a Accel) args() []string {
	if a.Type == AccelKVM {
		return []string{"-accel", "kvm"}
	}
	props := []Prop{Str("thread", "multi")}
	if a.TBSizeMiB > 0 {
		props = append(props, Int("tb-size", int64(a.TBSizeMiB)))
	}
	return []string{"-accel", opts("tcg", props...)}
}
