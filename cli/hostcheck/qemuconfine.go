package hostcheck

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/kite-vm/kite/qemu"
)

// probeQEMUSeccomp reports hypervisor.seccomp and whether this QEMU and
// kernel can honour it: QEMU refuses -sandbox when it was built without
// seccomp or the kernel lacks filter thread sync, and then no sandbox
// starts.
func probeQEMUSeccomp(ctx context.Context, o Options) Result {
	r := Result{Name: "qemu seccomp", Required: o.QEMUSeccomp}
	if !o.QEMUSeccomp {
		r.Status, r.Detail = Warn, "off (hypervisor.seccomp = false): QEMU may make any system call"
		r.Hint = "set hypervisor.seccomp = true"
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, o.QEMUPath, "-sandbox", qemu.SeccompArg, "-version").CombinedOutput()
	if err != nil {
		r.Status = Fail
		r.Detail = fmt.Sprintf("%s refuses -sandbox: %v: %s", o.QEMUPath, err, strings.TrimSpace(string(out)))
		r.Hint = "use a QEMU built with seccomp (Debian's is) on a kernel with seccomp filters, or set hypervisor.seccomp = false"
		return r
	}
	r.Status, r.Detail = OK, "on: -sandbox "+qemu.SeccompArg+" (with no_new_privs)"
	return r
}

// probeQEMUUser reports whom QEMU runs as and what it keeps: the user
// must exist and read the guest image; each data path that QEMU cannot
// serve unprivileged keeps its capabilities (qemu.NinePCaps, ...).
func probeQEMUUser(_ context.Context, o Options) Result {
	r := Result{Name: "qemu user", Required: true}
	if o.QEMUUser == "" || o.QEMUUser == "root" {
		r.Status, r.Required = Warn, false
		r.Detail = `root with every capability (hypervisor.user = "root"): a QEMU escape owns the host`
		r.Hint = `set hypervisor.user = "kite-qemu" (make setup creates the user)`
		return r
	}
	u, err := qemu.LookupUser(o.QEMUUser)
	if err != nil {
		r.Status, r.Detail = Fail, err.Error()
		r.Hint = "make setup (or scripts/setup-user.sh " + o.QEMUUser + `), or set hypervisor.user to "uid:gid" or "root"`
		return r
	}
	if o.Root == "" {
		for _, f := range []struct{ what, path string }{{"guest kernel", o.KernelPath}, {"guest initrd", o.InitrdPath}} {
			if err := qemu.CheckReadable(u, f.what, f.path); err != nil {
				r.Status, r.Detail = Fail, err.Error()
				r.Hint = "make the guest image readable by " + u.Name + " (kite guest build writes it so)"
				return r
			}
		}
	}
	r.Status = OK
	r.Detail = fmt.Sprintf("%s, no capability; kept per data path: 9p %s; vhost-user NIC %s; VFIO %s",
		u, qemu.CapNames(qemu.NinePCaps), qemu.CapNames(qemu.VhostUserNetCaps), qemu.CapNames(qemu.VFIOCaps))
	if o.NinePEveryVM {
		r.Status = Warn
		r.Detail += "; every VM serves 9p (shared_fs.driver or hotplug.spare_9p_shares), so every QEMU keeps the 9p capabilities"
		r.Hint = `set shared_fs.driver = "virtio-fs" and hotplug.spare_9p_shares = 0`
	}
	return r
}
