package sandbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/kite-vm/kite/hostcgroup"
	"github.com/kite-vm/kite/spec"
	"github.com/kite-vm/kite/vm"
)

func ptr[T any](v T) *T { return &v }

func ctr(id string, r *spec.Resources, annotations map[string]string) *spec.Container {
	return &spec.Container{ID: id, Resources: r, Annotations: annotations}
}

var pause = map[string]string{annotationContainerdType: containerTypeSandbox}

// The pod's host cgroup is its VM as a whole: the containers' quotas at a
// common period, their shares and cpusets summed; one container without a
// limit makes the pod's unlimited; a CRI pause container counts for
// nothing.
func TestPodCPU(t *testing.T) {
	half := &spec.Resources{CPUQuota: ptr[int64](50000), CPUPeriod: ptr[uint64](100000), CPUShares: ptr[uint64](512), CPUs: "0-1"}
	quarter := &spec.Resources{CPUQuota: ptr[int64](25000), CPUShares: ptr[uint64](256), CPUs: "3", Mems: "0"}
	slow := &spec.Resources{CPUQuota: ptr[int64](100000), CPUPeriod: ptr[uint64](400000)} // a quarter CPU too
	for _, tt := range []struct {
		name string
		cs   []*spec.Container
		want hostcgroup.Resources
	}{
		{"one", []*spec.Container{ctr("a", half, nil)},
			hostcgroup.Resources{CPUQuota: 50000, CPUPeriod: 100000, CPUShares: 512, CPUs: "0-1"}},
		{"two", []*spec.Container{ctr("a", half, nil), ctr("b", quarter, nil)},
			hostcgroup.Resources{CPUQuota: 75000, CPUPeriod: 100000, CPUShares: 768, CPUs: "0-1,3"}},
		{"same other period", []*spec.Container{ctr("s", slow, nil), ctr("t", slow, nil)},
			hostcgroup.Resources{CPUQuota: 200000, CPUPeriod: 400000}},
		{"periods differ", []*spec.Container{ctr("a", half, nil), ctr("s", slow, nil)},
			hostcgroup.Resources{CPUQuota: 75000, CPUPeriod: 100000, CPUShares: 512}},
		{"cpusets joined", []*spec.Container{ctr("a", &spec.Resources{CPUs: "0-1,5"}, nil), ctr("b", &spec.Resources{CPUs: "2,7", Mems: "0"}, nil)},
			hostcgroup.Resources{CPUs: "0-2,5,7"}},
		{"one unlimited", []*spec.Container{ctr("a", half, nil), ctr("u", nil, nil)},
			hostcgroup.Resources{CPUShares: 512}},
		{"pause alone", []*spec.Container{ctr("p", &spec.Resources{CPUShares: ptr[uint64](2)}, pause)}, hostcgroup.Resources{}},
		{"pause and one", []*spec.Container{ctr("p", &spec.Resources{CPUShares: ptr[uint64](2)}, pause), ctr("a", half, nil)},
			hostcgroup.Resources{CPUQuota: 50000, CPUPeriod: 100000, CPUShares: 512, CPUs: "0-1"}},
		{"CRI-O pause", []*spec.Container{ctr("p", half, map[string]string{annotationCRIOType: "sandbox"})}, hostcgroup.Resources{}},
		{"none", nil, hostcgroup.Resources{}},
	} {
		got, err := podCPU(tt.cs)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if _, err := podCPU([]*spec.Container{ctr("a", &spec.Resources{CPUs: "0-"}, nil)}); Classify(err) != ErrInvalidArgument {
		t.Errorf("a bad cpuset: %v, want ErrInvalidArgument", err)
	}
}

// The guest is sized from the pod's limit: containerd's sum on the pause
// container, else the container's; a memory_mib annotation sets the size
// itself.
func TestPodMemoryBytes(t *testing.T) {
	limited := &spec.Resources{MemoryLimit: ptr[int64](256 << 20)}
	for _, tt := range []struct {
		name string
		c    *spec.Container
		want int64
	}{
		{"container", ctr("a", limited, nil), 256 << 20},
		{"unlimited", ctr("a", &spec.Resources{MemoryLimit: ptr[int64](-1)}, nil), 0},
		{"no resources", ctr("a", nil, nil), 0},
		{"pause with the pod's sum", ctr("p", limited, map[string]string{annotationContainerdType: "sandbox", annotationSandboxMemory: "1073741824"}), 1 << 30},
		{"pause without", ctr("p", limited, pause), 0},
		{"pause, bad sum", ctr("p", nil, map[string]string{annotationContainerdType: "sandbox", annotationSandboxMemory: "lots"}), 0},
		{"memory_mib annotation", ctr("a", limited, map[string]string{"io.kite.hypervisor.memory_mib": "1024"}), 0},
	} {
		if got := podMemoryBytes(tt.c); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestMemoryNeed(t *testing.T) {
	n := memoryNeed{HostMemory: vm.HostMemory{GuestMiB: 450, QEMUMiB: 65, TCGMiB: 32}, VirtiofsdMiB: 16, OwnMiB: 48, PodMiB: 256}
	if n.totalMiB() != 611 || n.bytes() != 611<<20 {
		t.Errorf("total %d MiB, %d bytes; want 611 MiB", n.totalMiB(), n.bytes())
	}
	want := "guest RAM 450 + QEMU 65 + TCG translation buffer 32 + virtiofsd 16 + the sandbox's own process 48 MiB"
	if n.String() != want {
		t.Errorf("%q, want %q", n, want)
	}
	// Under the pod's limit: refused, naming the cgroup, the numbers and
	// what to change.
	err := checkNeed(hostcgroup.Limit{Bytes: 500 << 20, Cgroup: "/kubepods/burstable/pod1", File: "memory.limit_in_bytes"}, n, 450)
	for _, w := range []string{"/kubepods/burstable/pod1", "500 MiB", "memory.limit_in_bytes", "needs 611 MiB", want,
		"give the pod 111 MiB more", "overhead.podFixed memory of at least 355 MiB", "256 MiB of its containers' limits"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("checkNeed: %v; want it to say %q", err, w)
		}
	}
	if !errors.Is(err, ErrFailedPrecondition) {
		t.Errorf("checkNeed: %v, want ErrFailedPrecondition", err)
	}
	n.PodMiB = 0
	if err := checkNeed(hostcgroup.Limit{Bytes: 500 << 20, Cgroup: "/p", File: "memory.max"}, n, 450); err == nil ||
		!strings.Contains(err.Error(), "hypervisor.memory_mib, now 450 MiB") {
		t.Errorf("checkNeed without a pod size: %v, want it to point at memory_mib", err)
	}
	for _, lim := range []hostcgroup.Limit{{}, {Bytes: 611 << 20, Cgroup: "/p"}, {Bytes: 1 << 40, Cgroup: "/p"}} {
		if err := checkNeed(lim, n, 450); err != nil {
			t.Errorf("checkNeed(%+v): %v", lim, err)
		}
	}
}

func TestMergeResources(t *testing.T) {
	base := &spec.Resources{CPUQuota: ptr[int64](50000), CPUs: "0", MemoryLimit: ptr[int64](1 << 30)}
	got := mergeResources(base, &spec.Resources{CPUQuota: ptr[int64](-1), Mems: "0"})
	if *got.CPUQuota != -1 || got.CPUs != "0" || got.Mems != "0" || *got.MemoryLimit != 1<<30 || *base.CPUQuota != 50000 {
		t.Errorf("merged %+v (base now %+v)", got, base)
	}
	if got := mergeResources(nil, &spec.Resources{CPUs: "1"}); got.CPUs != "1" {
		t.Errorf("merged onto nothing: %+v", got)
	}
}
