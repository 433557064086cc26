package hostcheck

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// openable reports whether the device node opens read-write.
func openable(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

func deviceProbe(name, dev, okDetail, missingDetail, hint string) probe {
	return func(_ context.Context, o Options) Result {
		r := Result{Name: name}
		if err := openable(o.path(dev)); err != nil {
			r.Status, r.Detail, r.Hint = Warn, fmt.Sprintf("%s: %v", missingDetail, err), hint
			return r
		}
		r.Status, r.Detail = OK, okDetail
		return r
	}
}

var (
	probeVhostNet = deviceProbe("vhost-net", "/dev/vhost-net",
		"/dev/vhost-net opens: in-kernel virtio-net data path",
		"no vhost-net: virtio-net runs in QEMU's userspace (slower)",
		"modprobe vhost_net")
	probeVhostVsock = deviceProbe("vhost-vsock", "/dev/vhost-vsock",
		"/dev/vhost-vsock opens: agent over vsock",
		"no vhost-vsock: agent over virtio-serial",
		"modprobe vhost_vsock")
	probeTun = deviceProbe("tun", "/dev/net/tun",
		"/dev/net/tun opens: tap endpoints available",
		"no tun: tap, tcfilter and macvtap endpoints unavailable",
		"modprobe tun")
)

func probeVFIO(_ context.Context, o Options) Result {
	r := Result{Name: "vfio+iommu"}
	groups, _ := os.ReadDir(o.path("/sys/kernel/iommu_groups"))
	_, vfioErr := os.Stat(o.path("/dev/vfio/vfio"))
	switch {
	case len(groups) == 0:
		r.Status, r.Detail = Warn, "no IOMMU groups: PCI passthrough (SR-IOV VFs) unavailable"
		r.Hint = "enable the IOMMU in firmware and boot with intel_iommu=on iommu=pt (or amd_iommu=on)"
	case vfioErr != nil:
		r.Status, r.Detail = Warn, fmt.Sprintf("%d IOMMU groups but no /dev/vfio/vfio", len(groups))
		r.Hint = "modprobe vfio-pci"
	default:
		r.Status, r.Detail = OK, fmt.Sprintf("%d IOMMU groups, /dev/vfio/vfio present", len(groups))
	}
	return r
}

func probeHugepages(_ context.Context, o Options) Result {
	r := Result{Name: "hugepages"}
	dir := o.path("/sys/kernel/mm/hugepages")
	sizes, err := os.ReadDir(dir)
	if err != nil {
		r.Status, r.Detail, r.Hint = Warn, fmt.Sprintf("no hugepage support: %v", err), "use a kernel with CONFIG_HUGETLBFS"
		return r
	}
	var have []string
	for _, s := range sizes {
		b, err := os.ReadFile(dir + "/" + s.Name() + "/nr_hugepages")
		if err != nil {
			continue
		}
		if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n > 0 {
			have = append(have, fmt.Sprintf("%s=%d", strings.TrimPrefix(s.Name(), "hugepages-"), n))
		}
	}
	if len(have) == 0 {
		r.Status, r.Detail = Warn, "no hugepages reserved: guest memory uses memfd (fine for vhost-user and virtio-fs)"
		r.Hint = "echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
		return r
	}
	r.Status, r.Detail = OK, "reserved "+strings.Join(have, ", ")
	return r
}
