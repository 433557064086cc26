package spec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Hooks are kept for the front end to run, each kind in its place, with
// the timeout in seconds as a duration.
func TestConvertHooks(t *testing.T) {
	s := readConfig(t, "default")
	timeout := 5
	s.Hooks = &specs.Hooks{
		//lint:ignore SA1019 Docker still uses it
		Prestart:      []specs.Hook{{Path: "/usr/bin/setkey", Args: []string{"setkey", "c1"}, Env: []string{"A=1"}, Timeout: &timeout}},
		CreateRuntime: []specs.Hook{{Path: "/bin/cr"}},
		Poststop:      []specs.Hook{{Path: "/bin/pp"}},
	}
	ctr, err := Convert(s, Input{ContainerID: "c1", Bundle: "/bundles/c1"})
	if err != nil {
		t.Fatal(err)
	}
	want := &Hooks{
		Prestart:      []Hook{{Path: "/usr/bin/setkey", Args: []string{"setkey", "c1"}, Env: []string{"A=1"}, Timeout: 5 * time.Second}},
		CreateRuntime: []Hook{{Path: "/bin/cr", Args: []string{}, Env: []string{}}},
		Poststop:      []Hook{{Path: "/bin/pp", Args: []string{}, Env: []string{}}},
	}
	if diff := cmp.Diff(want, ctr.Hooks, cmp.Comparer(func(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") })); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
	for _, f := range ctr.Ignored {
		if strings.HasPrefix(f, "hooks") {
			t.Errorf("hooks listed as ignored: %q", f)
		}
	}
	s.Hooks = &specs.Hooks{}
	if ctr, err := Convert(s, Input{ContainerID: "c1", Bundle: "/bundles/c1"}); err != nil || ctr.Hooks != nil {
		t.Errorf("empty hooks: %+v, %v; want nil", ctr.Hooks, err)
	}
}

// A relative path or a timeout that is not positive breaks the runtime
// spec's MUSTs: refused, naming the field.
func TestConvertHooksRefused(t *testing.T) {
	zero := 0
	s := readConfig(t, "default")
	s.Hooks = &specs.Hooks{
		CreateContainer: []specs.Hook{{Path: "bin/relative"}},
		Poststart:       []specs.Hook{{Path: "/bin/ok"}, {Path: "/bin/zero", Timeout: &zero}},
	}
	_, err := Convert(s, Input{ContainerID: "c1", Bundle: "/bundles/c1"})
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Convert = %v, want a *FieldError", err)
	}
	for _, want := range []string{"hooks.createContainer[0].path", "hooks.poststart[1].timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Convert = %v, want it to name %s", err, want)
		}
	}
}
