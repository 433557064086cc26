package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A configuration that ignores seccomp says so in kite check's report.
func TestCheckShowsSeccompPosture(t *testing.T) {
	dir := t.TempDir()
	for mode, want := range map[string]string{"ignore": `NOT enforced: runtime.seccomp = "ignore"`, "enforce": "profiles enforced in the guest"} {
		path := filepath.Join(dir, mode+".toml")
		cfg := "[runtime]\nseccomp = \"" + mode + "\"\n[guest]\ndir = \"" + dir + "\"\n[hypervisor]\naccel = \"tcg\"\n"
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		_, out, _ := run(t, nil, "--config", path, "check")
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "container seccomp ") {
				line = l
			}
		}
		if !strings.Contains(line, want) {
			t.Errorf("runtime.seccomp = %q: kite check's seccomp line is %q, want %q", mode, line, want)
		}
	}
}
