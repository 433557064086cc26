package configs

import "errors"

// maxPoolSize bounds pool.size: each warm VM holds its guest RAM.
const maxPoolSize = 64

// Pool configures the pool of warm VMs: VMs booted to a ready agent ahead
// of any pod, which create claims instead of booting one.
type Pool struct {
	// Size is how many warm VMs the pool keeps ready; 0 turns it off.
	Size int `toml:"size" json:"size"`
	// Dir holds one directory per warm VM; "" is <runtime.root>/pool.
	Dir string `toml:"dir" json:"dir"`
	// RootPorts are the spare root ports of a warm VM, beyond
	// hotplug.spare_root_ports: the pod's NICs, volumes and devices are
	// hot-plugged into them at claim.
	RootPorts int `toml:"root_ports" json:"root_ports"`
	// Template makes warm VMs clones of a VM template (a warm VM booted
	// once and saved) rather than booting each: they restore in a fraction
	// of a boot and share the template's memory pages until they write
	// them. Clones serve the shared directory over 9p.
	Template bool `toml:"template" json:"template"`
}

// Validate checks every knob of the section.
func (p Pool) Validate() error {
	var dir error
	if p.Dir != "" {
		dir = absPath("pool.dir", p.Dir)
	}
	return errors.Join(
		inRange("pool.size", p.Size, 0, maxPoolSize),
		dir,
		inRange("pool.root_ports", p.RootPorts, 0, maxSpareRootPorts),
	)
}

// DirUnder is the pool's directory for the runtime root root.
func (p Pool) DirUnder(root string) string {
	if p.Dir != "" {
		return p.Dir
	}
	return root + "/pool"
}

// validateTemplate checks what a VM template cannot carry (pool.template):
// the other sections' choices it would silently change are converted
// (docs/templates.md), these are refused.
func (c *Config) validateTemplate() error {
	if !c.Pool.Template {
		return nil
	}
	var errs []error
	if c.Hypervisor.Machine != MachineQ35 {
		errs = append(errs, keyError("pool.template", ErrInvalid,
			` true: needs hypervisor.machine = "q35" (the clones' generation id device is described by q35's ACPI tables)`))
	}
	if c.Hypervisor.Hugepages {
		errs = append(errs, keyError("pool.template", ErrInvalid,
			` true: hypervisor.hugepages takes guest RAM from huge pages, a template's comes from its RAM file`))
	}
	if c.Guest.ImageType != ImageInitramfs {
		errs = append(errs, keyError("pool.template", ErrInvalid,
			` true: needs guest.image_type = "initramfs" (an NVDIMM root is outside the saved state)`))
	}
	return errors.Join(errs...)
}
