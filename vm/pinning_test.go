package vm

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
	"github.com/kite-vm/kite/qemu/qmp"
)

func TestPlanPinning(t *testing.T) {
	pin := func(vcpus int) configs.Hypervisor { return configs.Hypervisor{VCPUPinning: true, VCPUs: vcpus} }
	tests := []struct {
		name   string
		h      configs.Hypervisor
		cpuset []int
		want   CPUPinning
		err    string // "" when accepted
	}{
		{"off", configs.Hypervisor{VCPUs: 2}, []int{2, 3}, CPUPinning{}, ""},
		{"one to one", pin(2), []int{2, 3}, CPUPinning{VCPUs: []int{2, 3}, Others: []int{2, 3}}, ""},
		{"fewer vCPUs than CPUs", pin(1), []int{4, 9, 10}, CPUPinning{VCPUs: []int{4}, Others: []int{4, 9, 10}}, ""},
		{"round robin", pin(5), []int{2, 3}, CPUPinning{VCPUs: []int{2, 3, 2, 3, 2}, Others: []int{2, 3},
			Note: "hypervisor.vcpu_pinning: 5 vCPUs on 2 CPUs (2-3): vCPUs share CPUs round-robin"}, ""},
		{"cpuset order kept", pin(2), []int{7, 1}, CPUPinning{VCPUs: []int{7, 1}, Others: []int{7, 1}}, ""},
		{"no cpuset", pin(2), nil, CPUPinning{Note: "hypervisor.vcpu_pinning: the container has no cpuset: vCPUs are not pinned"}, ""},
		{"negative CPU", pin(1), []int{0, -1}, CPUPinning{}, "CPU -1 is outside 0..1023"},
		{"CPU past the mask", pin(1), []int{1024}, CPUPinning{}, "cpuset 1024: CPU 1024 is outside 0..1023"},
		{"duplicate CPU", pin(2), []int{3, 4, 3}, CPUPinning{}, "cpuset 3-4: CPU 3 is listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := planPinning(tt.h, tt.cpuset)
			if tt.err != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("planPinning = %v, want ErrInvalid with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("planPinning: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("planPinning (-want +got):\n%s", diff)
			}
			if got.Enabled() != (len(tt.want.VCPUs) > 0) {
				t.Errorf("Enabled() = %t", got.Enabled())
			}
		})
	}
}

func TestCPUList(t *testing.T) {
	for in, want := range map[string]string{
		"":            "",
		"5":           "5",
		"0 1":         "0-1",
		"3 0 1 2 7 9": "0-3,7,9",
		"4 4 5":       "4-5",
	} {
		var cpus []int
		for _, f := range strings.Fields(in) {
			cpus = append(cpus, int(f[0]-'0'))
		}
		if got := CPUList(cpus); got != want {
			t.Errorf("CPUList(%v) = %q, want %q", cpus, got, want)
		}
	}
}

func TestThreadPins(t *testing.T) {
	p := CPUPinning{VCPUs: []int{2, 3, 2}, Others: []int{2, 3}}
	tests := []struct {
		name  string
		vcpus []qmp.CPU
		tids  []int
		want  []threadPin
		err   string
	}{
		{"a thread per vCPU, vCPUs first", []qmp.CPU{{Index: 1, ThreadID: 102}, {Index: 0, ThreadID: 103}, {Index: 2, ThreadID: 104}},
			[]int{104, 100, 101, 102, 103}, []threadPin{
				{TID: 103, VCPUs: []int{0}, CPUs: []int{2}},
				{TID: 102, VCPUs: []int{1}, CPUs: []int{3}},
				{TID: 104, VCPUs: []int{2}, CPUs: []int{2}},
				{TID: 100, CPUs: []int{2, 3}},
				{TID: 101, CPUs: []int{2, 3}},
			}, ""},
		{"single-threaded TCG: one thread runs every vCPU", []qmp.CPU{{Index: 0, ThreadID: 101}, {Index: 1, ThreadID: 101}, {Index: 2, ThreadID: 101}},
			[]int{100, 101}, []threadPin{
				{TID: 101, VCPUs: []int{0, 1, 2}, CPUs: []int{2, 3}},
				{TID: 100, CPUs: []int{2, 3}},
			}, ""},
		{"vCPU thread not listed in tids still pinned", []qmp.CPU{{Index: 0, ThreadID: 7}}, nil,
			[]threadPin{{TID: 7, VCPUs: []int{0}, CPUs: []int{2}}}, ""},
		{"vCPU outside the plan", []qmp.CPU{{Index: 3, ThreadID: 9}}, []int{9}, nil, "pinning vCPU 3 (thread 9): the plan has 3 vCPUs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := threadPins(tt.vcpus, tt.tids, p)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("threadPins error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("threadPins (-want +got):\n%s", diff)
			}
		})
	}
}
