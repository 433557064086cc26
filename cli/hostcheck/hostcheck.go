package hostcheck

import (
	"context"
	"path/filepath"
)

// Status is the outcome of one probe.
type Status string

const (
	OK   Status = "ok"   // present and usable
	Warn Status = "warn" // missing, but Kite runs without it (slower or fewer features)
	Fail Status = "fail" // missing and required
)

// Result is one line of `kite check`.
type Result struct {
	Name     string `json:"name"`
	Status   Status `json:"status"`
	Detail   string `json:"detail"`
	Hint     string `json:"hint,omitempty"`
	Required bool   `json:"required"`
}

// Report is the outcome of all probes.
type Report struct {
	Results []Result `json:"checks"`
	// Accel is the accelerator Kite will use: "kvm" or "tcg".
	Accel string `json:"accel"`
	// CanRun is true when every required probe passed.
	CanRun bool `json:"can_run"`
}

// Options says where to look.
type Options struct {
	// Root prefixes /dev, /sys and /proc; "" means the real host. Probes that
	// must touch the live kernel (network namespaces, macvtap) run only when
	// Root is "".
	Root string
	// QEMUPath and VirtiofsdPath are the binaries from the configuration.
	QEMUPath      string
	VirtiofsdPath string
	// NeedVirtiofsd makes virtiofsd required (shared_fs.driver = virtio-fs).
	NeedVirtiofsd bool
	// KernelPath and InitrdPath are the guest kernel and initramfs.
	KernelPath string
	InitrdPath string
	// Accel is the configured accelerator: "auto", "kvm" or "tcg".
	Accel string
	// Seccomp is runtime.seccomp: "enforce" ("" too) or "ignore".
	Seccomp string
	// QEMUSeccomp and QEMUUser are hypervisor.seccomp and hypervisor.user
	// ("" is root, as qemu.StartOptions' nil User).
	QEMUSeccomp bool
	QEMUUser    string
	// NinePEveryVM says every VM serves 9p (shared_fs.driver = virtio-9p,
	// or hotplug.spare_9p_shares > 0), so every QEMU keeps qemu.NinePCaps.
	NinePEveryVM bool
	// VFRules are the devices.vf rules, with the PF each names.
	VFRules []VFRulePF
}

func (o Options) path(p string) string { return filepath.Join(o.Root, p) }

type probe func(ctx context.Context, o Options) Result

// Run runs every probe and summarizes them.
func Run(ctx context.Context, o Options) Report {
	probes := []probe{
		probeAccel, probeQEMU, probeVirtiofsd, probeVhostNet, probeVhostVsock,
		probeVFIO, probeHugepages, probeTun, probeNetns, probeMacvtap, probeGuest, probeSeccomp,
		probeQEMUSeccomp, probeQEMUUser, probeVFRules,
	}
	rep := Report{CanRun: true, Accel: "tcg"}
	for _, p := range probes {
		r := p(ctx, o)
		if r.Required && r.Status == Fail {
			rep.CanRun = false
		}
		rep.Results = append(rep.Results, r)
	}
	if kvm, _ := kvmUsable(o); kvm && o.Accel != "tcg" {
		rep.Accel = "kvm"
	}
	return rep
}
