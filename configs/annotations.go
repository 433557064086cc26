package configs

import (
	"encoding"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// AnnotationPrefix starts every pod annotation that overrides a knob:
// "io.kite.<section>.<knob>".
const AnnotationPrefix = "io.kite."

// override is one knob that a pod annotation may set.
type override struct {
	key string // "section.knob"
	set func(c *Config, value string) error
}

// overrides is the allowlist. It holds only knobs that shape the pod's own VM
// within limits the operator sets (vcpus up to max_vcpus, memory up to
// max_memory_mib) or that choose between equally safe modes; never a host
// path, a binary, extra arguments, a timeout or a host-side security setting
// (shared_fs.driver, sandbox, xattr, security_model), and nothing that widens
// the pod's access to the host.
func overrides() []override {
	return []override{
		intKnob("hypervisor.vcpus", func(c *Config) *int { return &c.Hypervisor.VCPUs }),
		intKnob("hypervisor.memory_mib", func(c *Config) *int { return &c.Hypervisor.MemoryMiB }),
		// Pinning stays inside the container's own cpuset. hypervisor.hugepages
		// is not here: it spends the host's reserved huge pages, which the
		// operator sizes and Kubernetes accounts for (hugepages-2Mi).
		boolKnob("hypervisor.vcpu_pinning", func(c *Config) *bool { return &c.Hypervisor.VCPUPinning }),
		textKnob("agent.log_level", func(c *Config) encoding.TextUnmarshaler { return &c.Agent.LogLevel }),
		textKnob("guest.image_type", func(c *Config) encoding.TextUnmarshaler { return &c.Guest.ImageType }),
		textKnob("network.model", func(c *Config) encoding.TextUnmarshaler { return &c.Network.Model }),
		intKnob("network.queues", func(c *Config) *int { return &c.Network.Queues }),
		textKnob("shared_fs.cache", func(c *Config) encoding.TextUnmarshaler { return &c.SharedFS.Cache }),
		intKnob("shared_fs.msize_kib", func(c *Config) *int { return &c.SharedFS.MsizeKiB }),
		textKnob("shared_fs.ninep_cache", func(c *Config) encoding.TextUnmarshaler { return &c.SharedFS.NinePCache }),
		textKnob("devices.vfio_mode", func(c *Config) encoding.TextUnmarshaler { return &c.Devices.VFIOMode }),
		// The guest IOMMU and the guest's huge pages are the pod's own VM's
		// (its huge pages come out of its RAM, bounded by memory_mib).
		boolKnob("hypervisor.enable_iommu", func(c *Config) *bool { return &c.Hypervisor.EnableIOMMU }),
		intKnob("devices.guest_hugepages_mib", func(c *Config) *int { return &c.Devices.GuestHugepagesMiB }),
		intKnob("hotplug.spare_root_ports", func(c *Config) *int { return &c.Hotplug.SpareRootPorts }),
	}
}

func intKnob(key string, field func(*Config) *int) override {
	return override{key: key, set: func(c *Config, value string) error {
		n, err := strconv.Atoi(value)
		if err != nil {
			return fmt.Errorf("%w %q: accepted values: an integer", ErrInvalid, value)
		}
		*field(c) = n
		return nil
	}}
}

// boolKnob accepts what TOML does for a boolean: true or false.
func boolKnob(key string, field func(*Config) *bool) override {
	return override{key: key, set: func(c *Config, value string) error {
		switch value {
		case "true", "false":
			*field(c) = value == "true"
			return nil
		}
		return fmt.Errorf("%w %q: accepted values: true | false", ErrInvalid, value)
	}}
}

func textKnob(key string, field func(*Config) encoding.TextUnmarshaler) override {
	return override{key: key, set: func(c *Config, value string) error {
		return field(c).UnmarshalText([]byte(value))
	}}
}

// AllowedAnnotations lists the annotations WithAnnotations accepts, sorted.
func AllowedAnnotations() []string {
	var names []string
	for _, o := range overrides() {
		names = append(names, AnnotationPrefix+o.key)
	}
	slices.Sort(names)
	return names
}

// WithAnnotations returns a copy of c with the pod's io.kite.* annotations
// applied, validated again. Annotations without the prefix are ignored; one
// with the prefix that is not in AllowedAnnotations, or whose value does not
// parse or validate, is an error naming the annotation. c is not changed.
func (c *Config) WithAnnotations(ann map[string]string) (*Config, error) {
	out := c.Clone()
	all := overrides()
	applied := map[string]string{} // knob key -> annotation name
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(ann)) {
		key, ok := strings.CutPrefix(name, AnnotationPrefix)
		if !ok {
			continue
		}
		i := slices.IndexFunc(all, func(o override) bool { return o.key == key })
		if i < 0 {
			errs = append(errs, keyError(name, ErrNotAllowed, ": pod annotations may set only %s",
				strings.Join(AllowedAnnotations(), ", ")))
			continue
		}
		if err := all[i].set(out, ann[name]); err != nil {
			errs = append(errs, &Error{Key: name, Err: err})
			continue
		}
		applied[key] = name
	}
	if len(errs) == 0 {
		errs = renameKeys(out.Validate(), applied)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("applying pod annotations: %w", errors.Join(errs...))
	}
	return out, nil
}

// renameKeys names the annotation, rather than the knob, in the validation
// errors of knobs that an annotation set.
func renameKeys(err error, applied map[string]string) []error {
	leaves := flatten(err)
	for i, leaf := range leaves {
		var e *Error
		if errors.As(leaf, &e) && applied[e.Key] != "" {
			renamed := *e
			renamed.Key = applied[e.Key]
			leaves[i] = &renamed
		}
	}
	return leaves
}
