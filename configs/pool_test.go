package configs

import (
	"errors"
	"strings"
	"testing"
)

// TestPoolTemplateCombinations: pool.template refuses what a VM template
// cannot carry, each with the knob that stands in the way.
func TestPoolTemplateCombinations(t *testing.T) {
	for name, tc := range map[string]struct {
		set  func(*Config)
		want string // "" for valid
	}{
		"defaults":  {func(*Config) {}, ""},
		"virtio-fs": {func(c *Config) { c.SharedFS.Driver = FSVirtioFS }, ""}, // converted, not refused
		"microvm": {func(c *Config) {
			c.Hypervisor.Machine, c.Hotplug.Method = MachineMicroVM, HotplugNative
		}, `hypervisor.machine = "q35"`},
		"hugepages": {func(c *Config) { c.Hypervisor.Hugepages = true }, "hypervisor.hugepages"},
		"nvdimm root": {func(c *Config) {
			c.Guest.ImageType, c.Hypervisor.MemorySlots = ImageNVDIMM, 2
		}, `guest.image_type = "initramfs"`},
	} {
		t.Run(name, func(t *testing.T) {
			c := Default()
			c.Pool.Template = true
			tc.set(c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "pool.template") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want pool.template refused naming %s", err, tc.want)
			}
			c.Pool.Template = false
			if err := c.Validate(); err != nil && strings.Contains(err.Error(), "pool.template") {
				t.Errorf("without pool.template: %v", err)
			}
		})
	}
}
