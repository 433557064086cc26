package configs

import (
	"errors"
	"path/filepath"
	"time"
)

// VFIOMode is what the guest does with a passed-through PCI device.
type VFIOMode string

// VFIO modes.
const (
	// VFIOGuestKernel: the guest binds the device's own driver (a VF becomes
	// a netdev in the container).
	VFIOGuestKernel VFIOMode = "guest-kernel"
	// VFIOUserspace: the guest binds vfio-pci and exposes /dev/vfio/N to the
	// container, for DPDK or SPDK inside the pod.
	VFIOUserspace VFIOMode = "vfio"
)

// Values lists the accepted VFIO modes.
func (VFIOMode) Values() []VFIOMode { return []VFIOMode{VFIOGuestKernel, VFIOUserspace} }

// UnmarshalText accepts only Values().
func (m *VFIOMode) UnmarshalText(b []byte) error { return parseEnum(m, b, m.Values()) }

// Devices configures host PCI devices passed to VMs.
type Devices struct {
	VFIOMode      VFIOMode `toml:"vfio_mode" json:"vfio_mode"`
	NUMAAware     bool     `toml:"numa_aware" json:"numa_aware"`
	AllocationDir string   `toml:"allocation_dir" json:"allocation_dir"`
	BindTimeout   Duration `toml:"bind_timeout" json:"bind_timeout"`
	// GuestHugepagesMiB is reserved in the guest as 2 MiB huge pages.
	GuestHugepagesMiB int `toml:"guest_hugepages_mib" json:"guest_hugepages_mib"`
	// PodResourcesSocket is the kubelet's PodResources API socket: the
	// shim asks it for a pod's devices when the pod's sandbox is created,
	// and cold-plugs them; empty: a container's functions are hot-plugged
	// when it is created.
	PodResourcesSocket string `toml:"pod_resources_socket" json:"pod_resources_socket"`
	// NUMAStrict refuses a sandbox whose PCI functions sit on a NUMA node
	// none of its CPUs is on; otherwise that is a warning.
	NUMAStrict bool `toml:"numa_strict" json:"numa_strict"`
	// VF are the admin settings given to the SR-IOV VFs passed through
	// ([[devices.vf]]), the first rule that matches a VF.
	VF []VFRule `toml:"vf" json:"vf"`
}

// Validate checks every knob of the section.
func (d Devices) Validate() error {
	errs := []error{
		oneOf("devices.vfio_mode", d.VFIOMode, d.VFIOMode.Values()),
		durationRange("devices.bind_timeout", d.BindTimeout, 100*time.Millisecond, 5*time.Minute),
		inRange("devices.guest_hugepages_mib", d.GuestHugepagesMiB, 0, maxMemoryMiB),
	}
	if d.GuestHugepagesMiB%HugepageMiB != 0 {
		errs = append(errs, keyError("devices.guest_hugepages_mib", ErrInvalid, " %d: accepted values: a multiple of %d MiB", d.GuestHugepagesMiB, HugepageMiB))
	}
	if d.AllocationDir != "" {
		errs = append(errs, absPath("devices.allocation_dir", d.AllocationDir))
	}
	if d.PodResourcesSocket != "" {
		errs = append(errs, absPath("devices.pod_resources_socket", d.PodResourcesSocket))
	}
	errs = append(errs, validateVFRules(d.VF))
	return errors.Join(errs...)
}

// AllocationDirUnder returns AllocationDir, or <root>/devices when it is empty.
func (d Devices) AllocationDirUnder(root string) string {
	if d.AllocationDir != "" {
		return d.AllocationDir
	}
	return filepath.Join(root, "devices")
}
