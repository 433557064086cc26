package agentreq

import (
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/spec"
)

// Resources builds the agent's limits from r (nil for nil), for a
// container's creation or an update; a nil field stays unset. The result
// shares no memory with r.
func Resources(r *spec.Resources) *protocol.Resources {
	if r == nil {
		return nil
	}
	out := &protocol.Resources{
		CpuShares:   clonePtr(r.CPUShares),
		CpuQuota:    clonePtr(r.CPUQuota),
		CpuPeriod:   clonePtr(r.CPUPeriod),
		MemoryLimit: clonePtr(r.MemoryLimit),
		PidsLimit:   clonePtr(r.PidsLimit),
	}
	if r.CPUs != "" {
		cpus := r.CPUs
		out.CpusetCpus = &cpus
	}
	if len(r.Devices) > 0 {
		out.DeviceCgroup = &protocol.DeviceCgroup{}
		for _, d := range r.Devices {
			out.DeviceCgroup.Rules = append(out.DeviceCgroup.Rules, &protocol.DeviceRule{
				Allow: d.Allow, Type: d.Type, Major: clonePtr(d.Major), Minor: clonePtr(d.Minor), Access: d.Access,
			})
		}
	}
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
