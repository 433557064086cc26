package qemu

// iommuID is the intel-iommu device's id, reserved among devices.
const iommuID = "iommu"

// iommuArgs renders the guest's emulated Intel VT-d. It comes with the
// machine, before the root ports and every other PCI device, because QEMU
// attaches a device to the IOMMU when the device is realized and an IOMMU
// created later would not translate for the devices before it.
//
// intremap=on: Linux's vfio_iommu_type1 refuses devices whose interrupts
// cannot be remapped ("unsafe interrupts"); under KVM interrupt remapping
// needs the split irqchip (Machine.args). caching-mode=on: QEMU requires it
// for vfio-pci behind the vIOMMU (it must see every mapping the guest
// makes to shadow it on the host), and it costs emulated devices little.
func iommuArgs() []string {
	return []string{"-device", opts("intel-iommu", Str("id", iommuID), Bool("intremap", true), Bool("caching-mode", true))}
}
