// Package nvdimm owns the images Kite maps into guests as emulated NVDIMMs:
// an ext4 file system built from a host directory, prefixed with the Linux
// NVDIMM_PFN_INFO block that makes the guest kernel expose the DIMM as fsdax
// pmem (so ext4 mounts with -o dax and reads go straight to host page cache
// instead of through a block driver). Without that block the kernel sees a
// raw-mode namespace on which DAX mounts fail.
package nvdimm
