package spec

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenNames are the configs under testdata/configs with a golden
// Container under testdata/golden.
var goldenNames = []string{"default", "full", "hostmounts"}

// asJSON is c as the golden files hold it, decoded again so that cmp
// compares content, not whitespace.
func asJSON(t *testing.T, c *Container) any {
	t.Helper()
	data, err := json.Marshal(c)
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
	for _, name := range goldenNames {
		t.Run(name, func(t *testing.T) {
			c, err := Convert(readConfig(t, name), Input{ContainerID: "c1", Bundle: "/bundles/" + name})
			if err != nil {
				t.Fatal(err)
			}
			got := asJSON(t, c)
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
				t.Errorf("container differs from %s (-want +got; go test -update rewrites it):\n%s", path, diff)
			}
		})
	}
}

// The golden files read back into the Container they were written from:
// the enums' names are their only spelling.
func TestGoldenRoundTrip(t *testing.T) {
	for _, name := range goldenNames {
		want, err := Convert(readConfig(t, name), Input{ContainerID: "c1", Bundle: "/bundles/" + name})
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var got Container
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, &got); diff != "" {
			t.Errorf("%s read back (-want +got):\n%s", name, diff)
		}
	}
}

func TestConvertDoesNotAliasSpec(t *testing.T) {
	spec := readConfig(t, "full")
	c, err := Convert(spec, Input{ContainerID: "c1", Bundle: "/b"})
	if err != nil {
		t.Fatal(err)
	}
	before := asJSON(t, c)
	spec.Process.Args[0] = "changed"
	*spec.Process.User.Umask = 0o777
	spec.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	spec.Mounts[1].Options[0] = "changed"
	spec.Annotations["org.example.role"] = "changed"
	spec.Linux.Sysctl["kernel.msgmax"] = "1"
	*spec.Linux.Resources.Memory.Limit = 1
	if diff := cmp.Diff(before, asJSON(t, c)); diff != "" {
		t.Errorf("changing the spec after Convert changed the container:\n%s", diff)
	}

	spec = readConfig(t, "hostmounts")
	if c, err = Convert(spec, Input{ContainerID: "c1", Bundle: "/b"}); err != nil {
		t.Fatal(err)
	}
	before = asJSON(t, c)
	spec.Mounts[1].Options[0] = "changed"
	spec.Mounts[5].Options[1] = "changed"
	if diff := cmp.Diff(before, asJSON(t, c)); diff != "" {
		t.Errorf("changing the spec's host mounts after Convert changed the container:\n%s", diff)
	}
}
