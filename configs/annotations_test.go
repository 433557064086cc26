package configs

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// validOverrides gives a value each allowlisted knob accepts that differs
// from its default.
func validOverrides() map[string]string {
	return map[string]string{
		"hypervisor.vcpus":            "4",
		"hypervisor.memory_mib":       "2048",
		"hypervisor.vcpu_pinning":     "true",
		"agent.log_level":             "debug",
		"guest.image_type":            "nvdimm",
		"network.model":               "macvtap",
		"network.queues":              "8",
		"shared_fs.cache":             "never",
		"shared_fs.msize_kib":         "128",
		"shared_fs.ninep_cache":       "loose",
		"devices.vfio_mode":           "vfio",
		"hypervisor.enable_iommu":     "true",
		"devices.guest_hugepages_mib": "64",
		"hotplug.spare_root_ports":    "8",
	}
}

// TestEachAllowedAnnotationSetsItsKnob ties each allowlist entry to the knob
// it names: applying it changes that knob, and nothing else.
func TestEachAllowedAnnotationSetsItsKnob(t *testing.T) {
	validOverride := validOverrides()
	if got, want := len(AllowedAnnotations()), len(validOverride); got != want {
		t.Fatalf("%d allowed annotations, test covers %d", got, want)
	}
	for _, name := range AllowedAnnotations() {
		key := strings.TrimPrefix(name, AnnotationPrefix)
		t.Run(key, func(t *testing.T) {
			base := Default()
			if key == "devices.vfio_mode" {
				base.Hypervisor.EnableIOMMU = true // "vfio" needs it
			}
			value, ok := validOverride[key]
			if !ok {
				t.Fatalf("no test value for %s", name)
			}
			got, err := base.WithAnnotations(map[string]string{name: value})
			if err != nil {
				t.Fatal(err)
			}
			before, after := flatJSON(t, base), flatJSON(t, got)
			var changed []string
			for k := range after {
				if !cmp.Equal(before[k], after[k]) {
					changed = append(changed, k)
				}
			}
			if len(changed) != 1 || changed[0] != key {
				t.Errorf("changed %v, want only %s", changed, key)
			}
			if s, _ := json.Marshal(after[key]); strings.Trim(string(s), `"`) != value {
				t.Errorf("%s = %s, want %s", key, s, value)
			}
		})
	}
}

func TestWithAnnotations(t *testing.T) {
	allowed := strings.Join(AllowedAnnotations(), ", ")
	tests := []struct {
		name string
		ann  map[string]string
		want []wantErr // nil: accepted
	}{
		{"none", nil, nil},
		{"other prefixes ignored", map[string]string{
			"io.kubernetes.cri.sandbox-id": "x", "io.katacontainers.config.hypervisor.path": "/bin/sh", "io.kite": "x",
		}, nil},
		{"several at once", map[string]string{
			"io.kite.hypervisor.vcpus": "16", "io.kite.network.queues": "0", "io.kite.hotplug.spare_root_ports": "0",
		}, nil},
		{"binary path denied", map[string]string{"io.kite.hypervisor.path": "/bin/sh"}, []wantErr{
			{0, "io.kite.hypervisor.path", ErrNotAllowed, []string{"may set only", allowed}},
		}},
		{"every denied key reported", map[string]string{
			"io.kite.shared_fs.virtiofsd_path": "/bin/sh",
			"io.kite.shared_fs.extra_args":     "-o",
			"io.kite.guest.dir":                "/",
			"io.kite.runtime.root":             "/",
			"io.kite.shared_fs.security_model": "none",
			"io.kite.nonsense":                 "1",
		}, []wantErr{
			{0, "io.kite.guest.dir", ErrNotAllowed, nil},
			{0, "io.kite.nonsense", ErrNotAllowed, nil},
			{0, "io.kite.runtime.root", ErrNotAllowed, nil},
			{0, "io.kite.shared_fs.extra_args", ErrNotAllowed, nil},
			{0, "io.kite.shared_fs.security_model", ErrNotAllowed, nil},
			{0, "io.kite.shared_fs.virtiofsd_path", ErrNotAllowed, nil},
		}},
		{"hugepages denied", map[string]string{"io.kite.hypervisor.hugepages": "true"}, []wantErr{
			{0, "io.kite.hypervisor.hugepages", ErrNotAllowed, []string{"may set only"}},
		}},
		{"not a boolean", map[string]string{"io.kite.hypervisor.vcpu_pinning": "yes"}, []wantErr{
			{0, "io.kite.hypervisor.vcpu_pinning", ErrInvalid, []string{`"yes"`, "true | false"}},
		}},
		{"not an integer", map[string]string{"io.kite.network.queues": "four"}, []wantErr{
			{0, "io.kite.network.queues", ErrInvalid, []string{`"four"`, "an integer"}},
		}},
		{"unknown enum value", map[string]string{"io.kite.network.model": "bridge"}, []wantErr{
			{0, "io.kite.network.model", ErrInvalid, []string{`"tcfilter", "macvtap", "none"`}},
		}},
		{"above the operator's ceiling", map[string]string{"io.kite.hypervisor.memory_mib": "9000"}, []wantErr{
			{0, "io.kite.hypervisor.memory_mib", ErrInvalid, []string{"64..8192", "hypervisor.max_memory_mib"}},
		}},
		{"out of range", map[string]string{"io.kite.network.queues": "257"}, []wantErr{
			{0, "io.kite.network.queues", ErrInvalid, []string{"0..256"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := Default()
			untouched := jsonCopy(t, base)
			got, err := base.WithAnnotations(tt.ann)
			if diff := cmp.Diff(untouched, base); diff != "" {
				t.Errorf("WithAnnotations changed its receiver:\n%s", diff)
			}
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if err := got.Validate(); err != nil {
					t.Errorf("result does not validate: %v", err)
				}
				return
			}
			if got != nil || err == nil {
				t.Fatalf("got %v, %v; want an error", got, err)
			}
			if !strings.HasPrefix(err.Error(), "applying pod annotations: ") {
				t.Errorf("error %q lacks context", err)
			}
			checkErrors(t, errors.Unwrap(err), "", tt.want)
		})
	}
}

// TestAnnotationsCannotReachHostPaths guards the allowlist itself: no knob
// whose value is a host path, a binary or program arguments.
func TestAnnotationsCannotReachHostPaths(t *testing.T) {
	for _, name := range AllowedAnnotations() {
		knob := name[strings.LastIndexByte(name, '.')+1:]
		for _, suffix := range []string{"path", "dir", "args", "pattern", "params", "timeout"} {
			if strings.HasSuffix(knob, suffix) {
				t.Errorf("%s is allowlisted but is a %s", name, suffix)
			}
		}
		switch knob {
		case "root", "driver", "sandbox", "xattr", "security_model", "max_vcpus", "max_memory_mib", "accel", "cpu_model":
			t.Errorf("%s is allowlisted but is a host-side or ceiling knob", name)
		}
	}
	if !slices.IsSorted(AllowedAnnotations()) {
		t.Error("AllowedAnnotations is not sorted")
	}
}

// flatJSON maps "section.knob" to the knob's JSON value.
func flatJSON(t *testing.T, c *Config) map[string]any {
	t.Helper()
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]map[string]any
	if err := json.Unmarshal(data, &tree); err != nil {
		t.Fatal(err)
	}
	flat := map[string]any{}
	for s, knobs := range tree {
		for k, v := range knobs {
			flat[s+"."+k] = v
		}
	}
	return flat
}
