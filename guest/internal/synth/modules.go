package synth

import "strings"

// ModuleSpec describes a kernel module by what its .modinfo says.
type ModuleSpec struct {
	Name    string
	Path    string // relative to lib/modules/<release>/
	Depends []string
}

// KO returns the module file for the spec.
func (m ModuleSpec) KO() []byte {
	return KernelModule("license=GPL", "depends="+strings.Join(m.Depends, ","), "name="+m.Name,
		"vermagic=6.1.0 SMP preempt mod_unload modversions")
}

// DebianModules returns Kite's default module set with the paths and
// dependencies Debian's 6.1.0-56-amd64 kernel gives them (read from the
// modules' .modinfo), so tests resolve the real dependency graph.
func DebianModules() []ModuleSpec {
	table := []struct{ name, path, deps string }{
		{"crc32c_generic", "crypto/crc32c_generic", ""},
		{"nfit", "drivers/acpi/nfit/nfit", "libnvdimm"},
		{"virtio_console", "drivers/char/virtio_console", "virtio,virtio_ring"},
		{"net_failover", "drivers/net/net_failover", "failover"},
		{"virtio_net", "drivers/net/virtio_net", "virtio_ring,virtio,net_failover"},
		{"virtio_blk", "drivers/block/virtio_blk", "virtio_ring,virtio"},
		{"virtio_balloon", "drivers/virtio/virtio_balloon", "virtio,virtio_ring"},
		{"libnvdimm", "drivers/nvdimm/libnvdimm", ""},
		{"nd_btt", "drivers/nvdimm/nd_btt", "libnvdimm"},
		{"nd_pmem", "drivers/nvdimm/nd_pmem", "libnvdimm,nd_btt"},
		{"virtio", "drivers/virtio/virtio", "virtio_ring"},
		{"virtio_pci", "drivers/virtio/virtio_pci", "virtio_ring,virtio_pci_modern_dev,virtio_pci_legacy_dev,virtio"},
		{"virtio_pci_legacy_dev", "drivers/virtio/virtio_pci_legacy_dev", ""},
		{"virtio_pci_modern_dev", "drivers/virtio/virtio_pci_modern_dev", ""},
		{"virtio_ring", "drivers/virtio/virtio_ring", ""},
		{"9p", "fs/9p/9p", "9pnet,fscache,netfs"},
		{"ext4", "fs/ext4/ext4", "jbd2,mbcache,crc16"},
		{"fscache", "fs/fscache/fscache", "netfs"},
		{"fuse", "fs/fuse/fuse", ""},
		{"virtiofs", "fs/fuse/virtiofs", "fuse,virtio,virtio_ring"},
		{"jbd2", "fs/jbd2/jbd2", ""},
		{"mbcache", "fs/mbcache", ""},
		{"netfs", "fs/netfs/netfs", ""},
		{"crc16", "lib/crc16", ""},
		{"9pnet", "net/9p/9pnet", ""},
		{"9pnet_virtio", "net/9p/9pnet_virtio", "virtio,9pnet,virtio_ring"},
		{"failover", "net/core/failover", ""},
		{"vmw_vsock_virtio_transport", "net/vmw_vsock/vmw_vsock_virtio_transport", "virtio,vmw_vsock_virtio_transport_common,virtio_ring,vsock"},
		{"vmw_vsock_virtio_transport_common", "net/vmw_vsock/vmw_vsock_virtio_transport_common", "vsock"},
		{"vsock", "net/vmw_vsock/vsock", ""},
	}
	specs := make([]ModuleSpec, len(table))
	for i, e := range table {
		specs[i] = ModuleSpec{Name: e.name, Path: "kernel/" + e.path + ".ko"}
		if e.deps != "" {
			specs[i].Depends = strings.Split(e.deps, ",")
		}
	}
	return specs
}
