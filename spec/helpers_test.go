package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// readConfig parses testdata/configs/<name>.json without Load's disk
// checks, so that specs naming absolute root paths can be converted.
func readConfig(t *testing.T, name string) *specs.Spec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "configs", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	return &spec
}

// makeBundle writes config into a fresh bundle directory with an empty
// rootfs directory and returns the bundle's path.
func makeBundle(t *testing.T, config []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if config != nil {
		if err := os.WriteFile(filepath.Join(dir, ConfigName), config, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
