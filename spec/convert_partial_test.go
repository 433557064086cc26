package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// An exec's process converts to what the same process converts to as a
// bundle's.
func TestConvertProcess(t *testing.T) {
	for _, name := range goldenNames {
		t.Run(name, func(t *testing.T) {
			spec := readConfig(t, name)
			c, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := ConvertProcess(spec.Process)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.Process, got); diff != "" {
				t.Errorf("ConvertProcess differs from Convert's process (-Convert +ConvertProcess):\n%s", diff)
			}
			spec.Process.Env[0] = "changed"
			if got.Env[0] == "changed" {
				t.Error("the process aliases the spec's env")
			}
		})
	}
}

// ConvertProcess refuses what Convert refuses in a process, in the same
// words.
func TestConvertProcessRefuses(t *testing.T) {
	n := 0
	for _, tt := range refusals {
		if !strings.HasPrefix(tt.want, "process.") {
			continue
		}
		n++
		t.Run(tt.name, func(t *testing.T) {
			spec := readConfig(t, "default")
			tt.mutate(spec)
			_, err := ConvertProcess(spec.Process)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("ConvertProcess: %v, want a *FieldError", err)
			}
			if !strings.HasPrefix(fe.Error(), tt.want) {
				t.Errorf("error:\n  %s\nwant:\n  %s", fe, tt.want)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
	if n == 0 {
		t.Fatal("no process refusals in the table")
	}
}

func TestConvertProcessNil(t *testing.T) {
	_, err := ConvertProcess(nil)
	if want := "process: there is nothing to run"; err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("ConvertProcess(nil): %v, want ErrInvalidSpec saying %q", err, want)
	}
}

func TestConvertResources(t *testing.T) {
	ptr := func(v int64) *int64 { return &v }
	uptr := func(v uint64) *uint64 { return &v }
	tests := []struct {
		name string
		in   *specs.LinuxResources
		want *Resources
	}{
		{"cpu", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: uptr(512), Quota: ptr(50000), Period: uptr(100000), Cpus: "0-1"}},
			&Resources{CPUShares: uptr(512), CPUQuota: ptr(50000), CPUPeriod: uptr(100000), CPUs: "0-1"}},
		{"memory unlimited", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(-5), Swap: ptr(1)}},
			&Resources{MemoryLimit: ptr(-1)}},
		{"pids", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(100)}}, &Resources{PidsLimit: ptr(100)}},
		{"zero is unset", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: uptr(0), Quota: ptr(-1)}, Memory: &specs.LinuxMemory{Limit: ptr(0)}},
			&Resources{CPUQuota: ptr(-1)}},
		{"device rules", &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: ptr(10), Minor: ptr(229), Access: "rw"},
			{Allow: true, Type: "b", Major: ptr(-1), Minor: ptr(0), Access: "m"},
		}}, &Resources{Devices: []DeviceRule{
			{Type: "a", Access: "rwm"},
			{Allow: true, Type: "c", Major: ptr(10), Minor: ptr(229), Access: "rw"},
			{Allow: true, Type: "b", Minor: ptr(0), Access: "m"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConvertResources(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
		})
	}
}

// An update must set a limit the guest applies: one that sets none would
// look applied and change nothing.
func TestConvertResourcesRefuses(t *testing.T) {
	zero := uint64(0)
	for name, in := range map[string]*specs.LinuxResources{
		"nil":          nil,
		"empty":        {},
		"only ignored": {BlockIO: &specs.LinuxBlockIO{}, CPU: &specs.LinuxCPU{Idle: new(int64)}},
		"zero shares":  {CPU: &specs.LinuxCPU{Shares: &zero}},
	} {
		_, err := ConvertResources(in)
		const want = "linux.resources: sets no limit the guest applies (cpu shares, quota, period, cpuset, memory, pids, device rules)"
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%s: ConvertResources: %v, want ErrInvalidSpec saying %q", name, err, want)
		}
	}
}

func TestConvertResourcesRefusesBadDeviceRules(t *testing.T) {
	ptr := func(v int64) *int64 { return &v }
	for _, tt := range []struct {
		rule specs.LinuxDeviceCgroup
		want string
	}{
		{specs.LinuxDeviceCgroup{Type: "u", Access: "rw"}, `linux.resources.devices[1]: type "u": want a, b or c`},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "rwx"}, `linux.resources.devices[1]: access "rwx": want some of r, w and m`},
		{specs.LinuxDeviceCgroup{Type: "c", Major: ptr(-2), Access: "r"}, `linux.resources.devices[1]: major -2`},
		{specs.LinuxDeviceCgroup{Type: "c", Major: ptr(1), Minor: ptr(1 << 32), Access: "r"}, `linux.resources.devices[1]: minor 4294967296`},
	} {
		_, err := ConvertResources(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Access: "rwm"}, tt.rule}})
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("ConvertResources(%+v): %v, want ErrInvalidSpec saying %q", tt.rule, err, tt.want)
		}
	}
}

// The bundle's resources convert as an update's do.
func TestConvertResourcesMatchesConvert(t *testing.T) {
	spec := readConfig(t, "full")
	c, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ConvertResources(spec.Linux.Resources)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c.Resources, got); diff != "" {
		t.Errorf("(-Convert +ConvertResources):\n%s", diff)
	}
}
