package qemu

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func hugepages(nodes ...int) *Hugepages {
	return &Hugepages{PageMiB: 2, HostNodes: nodes}
}

func TestMemoryArgs(t *testing.T) {
	numa := []string{"-numa", "node,memdev=mem"}
	for _, tc := range []struct {
		name string
		m    Memory
		want []string
	}{
		{"private", Memory{SizeMiB: 256}, []string{"-m", "256M"}},
		{"memfd", Memory{SizeMiB: 256, Shared: true},
			append([]string{"-m", "256M", "-object", "memory-backend-memfd,id=mem,size=268435456,share=on"}, numa...)},
		{"hugepages unbound", Memory{SizeMiB: 256, Shared: true, Hugepages: hugepages()},
			append([]string{"-m", "256M", "-object", "memory-backend-memfd,id=mem,size=268435456,share=on,hugetlb=on,hugetlbsize=2097152"}, numa...)},
		{"hugepages on node 1", Memory{SizeMiB: 512, Shared: true, Hugepages: hugepages(1), Slots: 2, MaxMiB: 2048},
			append([]string{"-m", "512M,slots=2,maxmem=2048M", "-object",
				"memory-backend-memfd,id=mem,size=536870912,share=on,hugetlb=on,hugetlbsize=2097152,host-nodes=1,policy=bind"}, numa...)},
		{"hugepages on two nodes", Memory{SizeMiB: 256, Shared: true, Hugepages: hugepages(0, 2)},
			append([]string{"-m", "256M", "-object",
				"memory-backend-memfd,id=mem,size=268435456,share=on,hugetlb=on,hugetlbsize=2097152,host-nodes=0,host-nodes=2,policy=bind"}, numa...)},
		{"1 GiB pages", Memory{SizeMiB: 2048, Shared: true, Hugepages: &Hugepages{PageMiB: 1024}},
			append([]string{"-m", "2048M", "-object", "memory-backend-memfd,id=mem,size=2147483648,share=on,hugetlb=on,hugetlbsize=1073741824"}, numa...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.m.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if diff := cmp.Diff(tc.want, tc.m.args()); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemoryValidateHugepages(t *testing.T) {
	for _, tc := range []struct {
		name  string
		m     Memory
		field string
	}{
		{"not shared", Memory{SizeMiB: 256, Hugepages: hugepages()}, "Memory.Hugepages"},
		{"no page size", Memory{SizeMiB: 256, Shared: true, Hugepages: &Hugepages{}}, "Memory.Hugepages.PageMiB"},
		{"odd size", Memory{SizeMiB: 255, Shared: true, Hugepages: hugepages()}, "Memory.SizeMiB"},
		{"negative node", Memory{SizeMiB: 256, Shared: true, Hugepages: hugepages(-1)}, "Memory.Hugepages.HostNodes"},
		{"node past MAX_NODES", Memory{SizeMiB: 256, Shared: true, Hugepages: hugepages(128)}, "Memory.Hugepages.HostNodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var se *SpecError
			if err := tc.m.Validate(); !errors.As(err, &se) || se.Field != tc.field {
				t.Fatalf("Validate = %v, want a SpecError on %s", err, tc.field)
			}
		})
	}
}

// TestBuildGoldenHugepages pins a whole command line with huge-page RAM
// bound to a node next to a vhost-user NIC, the case it exists for.
func TestBuildGoldenHugepages(t *testing.T) {
	c := minimalConfig()
	c.Memory = Memory{SizeMiB: 1024, Shared: true, Hugepages: hugepages(1)}
	c.RootPorts = RootPortPool("rp", 1)
	c.Devices = []Device{VhostUserNet{ID: "vnet0", Bus: "rp0", MAC: "02:00:00:00:00:02", SocketPath: "/run/kite/vm1/vhu0.sock", Queues: 1}}
	cl, err := c.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	checkGolden(t, "hugepages", render(cl))
}
