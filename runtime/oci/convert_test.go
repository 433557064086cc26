package oci

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenPlan is a Plan as the golden files hold it: the request through
// protojson, whose output is stable in content though not in whitespace.
func goldenPlan(t *testing.T, p *Plan) any {
	t.Helper()
	req, err := protojson.MarshalOptions{Multiline: true}.Marshal(p.Request)
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{
		"rootfs":         p.Rootfs,
		"rootfsReadonly": p.RootfsReadonly,
		"terminal":       p.Terminal,
		"annotations":    p.Annotations,
		"ignored":        p.Ignored,
		"netnsPath":      p.NetnsPath,
		"binds":          p.Binds,
		"volumes":        p.Volumes,
		"request":        json.RawMessage(req),
	}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestConvertGolden(t *testing.T) {
	for _, name := range []string{"default", "full"} {
		t.Run(name, func(t *testing.T) {
			plan, err := Convert(readConfig(t, name), Input{ContainerID: "c1", Bundle: "/bundles/" + name})
			if err != nil {
				t.Fatal(err)
			}
			got := goldenPlan(t, plan)
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				data, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			var want any
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatalf("parsing %s: %v", path, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("plan differs from %s (-want +got; go test -update rewrites it):\n%s", path, diff)
			}
		})
	}
}

func TestConvertDoesNotAliasSpec(t *testing.T) {
	spec := readConfig(t, "full")
	plan, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	before := goldenPlan(t, plan)
	spec.Process.Args[0] = "changed"
	*spec.Process.User.Umask = 0o777
	spec.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	spec.Mounts[1].Options[0] = "changed"
	spec.Annotations["org.example.role"] = "changed"
	*spec.Linux.Resources.Memory.Limit = 1
	if diff := cmp.Diff(before, goldenPlan(t, plan)); diff != "" {
		t.Errorf("changing the spec after Convert changed the plan:\n%s", diff)
	}
}
