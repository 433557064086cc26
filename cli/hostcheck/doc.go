// Package hostcheck probes the host for what Kite needs or can use — an
// accelerator, QEMU, virtiofsd, vhost devices, VFIO with an IOMMU, hugepages,
// tun/macvtap, network namespaces and the guest image — and says, for each
// missing piece, how to fix it. It backs `kite check`.
//
// Probes read files under a root directory (Options.Root, "" for the real
// host) so they are tested against fake trees; the network probes create
// links only inside a throwaway network namespace owned by a discarded thread.
package hostcheck
