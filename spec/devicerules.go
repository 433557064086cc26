package spec

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DeviceRule is one entry of linux.resources.devices: the guest's device
// cgroup applies them in order, as runc does.
type DeviceRule struct {
	Allow bool
	// Type is "a" (every device), "c" (character) or "b" (block).
	Type string
	// Major and Minor are nil for every number (*).
	Major, Minor *int64
	// Access is some of "r", "w" and "m".
	Access string
}

// deviceRules converts linux.resources.devices. An unset type means "a",
// as the runtime spec says; a number of -1 means every number, as runc
// reads it.
func (c resourceConverter) deviceRules(ds []specs.LinuxDeviceCgroup) []DeviceRule {
	var out []DeviceRule
	for i, d := range ds {
		field := fmt.Sprintf("linux.resources.devices[%d]", i)
		r := DeviceRule{Allow: d.Allow, Type: d.Type, Access: d.Access}
		if r.Type == "" {
			r.Type = "a"
		}
		if r.Type != "a" && r.Type != "b" && r.Type != "c" {
			c.fail(invalid(field, "type %q: want a, b or c", d.Type))
			continue
		}
		if strings.Trim(d.Access, "rwm") != "" {
			c.fail(invalid(field, "access %q: want some of r, w and m", d.Access))
			continue
		}
		var ok bool
		if r.Major, ok = deviceNumber(d.Major); !ok {
			c.fail(invalid(field, "major %d: want a number from 0 to 4294967295, or -1 for every major", *d.Major))
			continue
		}
		if r.Minor, ok = deviceNumber(d.Minor); !ok {
			c.fail(invalid(field, "minor %d: want a number from 0 to 4294967295, or -1 for every minor", *d.Minor))
			continue
		}
		out = append(out, r)
	}
	return out
}

// deviceNumber maps -1 to nil (every number) and refuses what no device
// number can be.
func deviceNumber(p *int64) (*int64, bool) {
	switch {
	case p == nil || *p == -1:
		return nil, true
	case *p < 0 || *p > 1<<32-1:
		return nil, false
	}
	v := *p
	return &v, true
}
