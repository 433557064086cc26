package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run calls Main with an environment that has only the given variables.
func run(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return vars[k] }
	code = Main(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errOut}, getenv)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, out, _ := run(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "kite version ") {
			t.Errorf("kite %v = %d, %q", args, code, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage: kite"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
		{[]string{"check", "--bogus"}, "flag provided but not defined"},
		{[]string{"--log-format", "xml", "version"}, `log format "xml"`},
		{[]string{"guest", "destroy"}, "kite guest build"},
	} {
		code, _, errOut := run(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("kite %v = %d, stderr %q; want exit %d mentioning %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
}

func TestEnvJSONReflectsConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kite.toml")
	if err := os.WriteFile(path, []byte("[hypervisor]\nvcpus = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, map[string]string{"KITE_CONFIG": path}, "env", "--json")
	if code != 0 {
		t.Fatalf("kite env --json = %d: %s", code, errOut)
	}
	var got struct {
		Hypervisor struct {
			VCPUs     int `json:"vcpus"`
			MemoryMiB int `json:"memory_mib"`
		} `json:"hypervisor"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("env output is not JSON: %v\n%s", err, out)
	}
	if got.Hypervisor.VCPUs != 2 || got.Hypervisor.MemoryMiB == 0 {
		t.Errorf("env: vcpus=%d memory_mib=%d; want the file's 2 and the default memory", got.Hypervisor.VCPUs, got.Hypervisor.MemoryMiB)
	}
}

func TestBadConfigNamesFileAndKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(path, []byte("[hypervisor]\nmemory_mib = 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, nil, "--config", path, "env")
	if code != exitError || !strings.Contains(errOut, path) || !strings.Contains(errOut, "hypervisor.memory_mib") {
		t.Errorf("kite env with a bad config = %d, stderr %q; want exit 1 naming the file and key", code, errOut)
	}
}

func TestCheckJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kite.toml")
	cfg := "[guest]\ndir = \"" + dir + "\"\n[hypervisor]\naccel = \"tcg\"\n"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, nil, "--config", path, "check", "--json")
	var rep struct {
		Accel  string `json:"accel"`
		CanRun bool   `json:"can_run"`
		Checks []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check --json output is not JSON: %v\n%s", err, out)
	}
	// The temp guest dir is empty, so Kite cannot run and says so by exit code.
	if rep.CanRun || code != exitError {
		t.Errorf("check with no guest image: can_run=%v exit=%d, want false and %d", rep.CanRun, code, exitError)
	}
	if rep.Accel != "tcg" || len(rep.Checks) < 10 {
		t.Errorf("check: accel=%q with %d checks", rep.Accel, len(rep.Checks))
	}
}
