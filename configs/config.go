package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/BurntSushi/toml"
)

// defaultTOML is the documented default configuration. It is the only source
// of default values: Default decodes it, so the documentation and the
// defaults cannot drift apart.
//
//go:embed configuration.toml
var defaultTOML string

// embeddedName names the embedded file in errors.
const embeddedName = "embedded configuration.toml"

// Config is Kite's whole configuration, one field per TOML section.
type Config struct {
	Runtime    Runtime    `toml:"runtime" json:"runtime"`
	Hypervisor Hypervisor `toml:"hypervisor" json:"hypervisor"`
	Agent      Agent      `toml:"agent" json:"agent"`
	Guest      Guest      `toml:"guest" json:"guest"`
	Network    Network    `toml:"network" json:"network"`
	SharedFS   SharedFS   `toml:"shared_fs" json:"shared_fs"`
	Devices    Devices    `toml:"devices" json:"devices"`
	Hotplug    Hotplug    `toml:"hotplug" json:"hotplug"`
	Pool       Pool       `toml:"pool" json:"pool"`
}

// DefaultTOML returns the documented default configuration file, for
// installing as /etc/kite/configuration.toml.
func DefaultTOML() string { return defaultTOML }

// Default returns the configuration that the embedded file describes. It
// panics if that file does not decode, which the package's tests rule out.
func Default() *Config {
	var c Config
	if _, err := toml.Decode(defaultTOML, &c); err != nil {
		panic(fmt.Sprintf("configs: embedded configuration.toml: %v", err))
	}
	return &c
}

// Validate checks every section and the constraints between sections,
// without looking at the host. It returns every problem, joined; each is an
// *Error naming its key.
func (c *Config) Validate() error {
	return errors.Join(
		c.Runtime.Validate(),
		c.Hypervisor.Validate(),
		c.Agent.Validate(),
		c.Guest.Validate(),
		c.Network.Validate(),
		c.SharedFS.Validate(),
		c.Devices.Validate(),
		c.Hotplug.Validate(),
		c.Pool.Validate(),
		c.validateCombinations(),
		c.validateTemplate(),
	)
}

// validateCombinations checks what QEMU's machine types cannot do.
func (c *Config) validateCombinations() error {
	var errs []error
	if c.Hypervisor.Machine == MachineMicroVM && c.Hotplug.Method == HotplugACPI {
		errs = append(errs, keyError("hotplug.method", ErrInvalid,
			` "acpi": needs hypervisor.machine = "q35" (microvm has no ACPI PCI hotplug): use "native"`))
	}
	errs = append(errs, c.validateIOMMU()...)
	if c.Guest.ImageType == ImageNVDIMM {
		if c.Hypervisor.Machine == MachineMicroVM {
			errs = append(errs, keyError("guest.image_type", ErrInvalid,
				` "nvdimm": needs hypervisor.machine = "q35" (microvm has no NVDIMM)`))
		}
		if c.Hypervisor.MemorySlots == 0 {
			errs = append(errs, keyError("hypervisor.memory_slots", ErrInvalid,
				` 0: guest.image_type = "nvdimm" needs at least one memory slot`))
		}
	}
	return errors.Join(errs...)
}

// validateIOMMU checks what a guest IOMMU and the guest's own vfio-pci
// need: the IOMMU is q35's (intel-iommu), and vfio-pci in the guest refuses
// a device no IOMMU translates for; the guest's huge pages come out of its
// RAM.
func (c *Config) validateIOMMU() []error {
	var errs []error
	if c.Hypervisor.EnableIOMMU && c.Hypervisor.Machine == MachineMicroVM {
		errs = append(errs, keyError("hypervisor.enable_iommu", ErrInvalid,
			` true: needs hypervisor.machine = "q35" (QEMU's intel-iommu is a q35 device)`))
	}
	if c.Devices.VFIOMode == VFIOUserspace && !c.Hypervisor.EnableIOMMU {
		errs = append(errs, keyError("devices.vfio_mode", ErrInvalid,
			` "vfio": needs hypervisor.enable_iommu = true (the guest's vfio-pci needs an IOMMU to bind a device)`))
	}
	if h := c.Devices.GuestHugepagesMiB; h > 0 && h >= c.Hypervisor.MemoryMiB {
		errs = append(errs, keyError("devices.guest_hugepages_mib", ErrInvalid,
			" %d: must be below hypervisor.memory_mib (%d): the guest's huge pages come out of its RAM", h, c.Hypervisor.MemoryMiB))
	}
	return errs
}

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	n := *c
	n.Guest.ExtraModules = slices.Clone(c.Guest.ExtraModules)
	n.SharedFS.ExtraArgs = slices.Clone(c.SharedFS.ExtraArgs)
	n.Devices.VF = slices.Clone(c.Devices.VF) // a rule's pointers are never written through
	return &n
}

// EncodeTOML writes c as a TOML document that Parse reads back to an equal
// Config (without the comments of the default file).
func (c *Config) EncodeTOML(w io.Writer) error {
	if err := toml.NewEncoder(w).Encode(c); err != nil {
		return fmt.Errorf("encoding configuration: %w", err)
	}
	return nil
}
