package spec

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConvertProcess converts an exec's process under the rules Convert holds
// the bundle's process to, with the same field names in its errors
// ("process.cwd"). Like the init process it gets a stdin pipe. The fields
// it ignores (AppArmor and SELinux labels...) are dropped as Convert drops
// them, without a list: nothing shows an exec's.
func ConvertProcess(p *specs.Process) (*Process, error) {
	if p == nil {
		return nil, fmt.Errorf("converting the process: %w", invalid("process", "there is nothing to run"))
	}
	c := processConverter{&findings{}}
	out := c.process(p)
	if err := c.err(); err != nil {
		return nil, fmt.Errorf("converting the process: %w", err)
	}
	return out, nil
}

// ConvertResources converts the new limits of an update under the rules
// Convert holds linux.resources to. An update that sets none of the
// limits the guest applies is refused: applying it would change nothing,
// which the caller asking for it cannot mean.
func ConvertResources(r *specs.LinuxResources) (*Resources, error) {
	c := resourceConverter{&findings{}}
	out := c.resources(r)
	if err := c.err(); err != nil {
		return nil, fmt.Errorf("converting the resources: %w", err)
	}
	if out == nil {
		return nil, fmt.Errorf("converting the resources: %w", invalid("linux.resources",
			"sets no limit the guest applies (cpu shares, quota, period, cpuset, memory, pids, device rules)"))
	}
	return out, nil
}
