package agentreq

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/agent/protocol"
	"github.com/kite-vm/kite/spec"
	"google.golang.org/protobuf/testing/protocmp"
)

func TestResources(t *testing.T) {
	tests := []struct {
		name string
		in   *spec.Resources
		want *protocol.Resources
	}{
		{"nil", nil, nil},
		{"cpus empty is unset", &spec.Resources{PidsLimit: ptr[int64](-1)}, &protocol.Resources{PidsLimit: ptr[int64](-1)}},
		{"every field", &spec.Resources{
			CPUShares: ptr[uint64](512), CPUQuota: ptr[int64](50000), CPUPeriod: ptr[uint64](100000), CPUs: "0-1",
			MemoryLimit: ptr[int64](268435456), PidsLimit: ptr[int64](100),
			Devices: []spec.DeviceRule{{Type: "a", Access: "rwm"}, {Allow: true, Type: "c", Major: ptr[int64](10), Minor: ptr[int64](229), Access: "rw"}},
		}, &protocol.Resources{
			CpuShares: ptr[uint64](512), CpuQuota: ptr[int64](50000), CpuPeriod: ptr[uint64](100000), CpusetCpus: ptr("0-1"),
			MemoryLimit: ptr[int64](268435456), PidsLimit: ptr[int64](100),
			DeviceCgroup: &protocol.DeviceCgroup{Rules: []*protocol.DeviceRule{
				{Type: "a", Access: "rwm"}, {Allow: true, Type: "c", Major: ptr[int64](10), Minor: ptr[int64](229), Access: "rw"},
			}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Resources(tt.in)
			if diff := cmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			if tt.in != nil && tt.in.MemoryLimit != nil {
				*tt.in.MemoryLimit = 7
				if got.GetMemoryLimit() == 7 {
					t.Error("the request aliases the spec's memory limit")
				}
			}
		})
	}
}
