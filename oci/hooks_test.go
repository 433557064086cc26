package oci

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookScript writes an executable shell script.
func hookScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hook")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A hook gets the state on stdin, its own argv (argv[0] included) and
// environment only, and runs in the given directory, as runc runs it.
func TestRunHooksStdinArgsEnv(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	script := hookScript(t, `{ echo "argv0=$0 args=$*"; echo "env=$(env | grep -v '^PWD=' | sort | tr '\n' ' ')"; echo "cwd=$(pwd)"; cat; } > `+out)
	st := specs.State{Version: specs.Version, ID: "c1", Status: specs.StateCreating, Pid: 42, Bundle: dir}
	t.Setenv("KITE_LEAK", "1") // not inherited
	hooks := []spec.Hook{{Path: script, Args: []string{"myhook", "a", "b"}, Env: []string{"X=1"}}}
	if err := RunHooks(context.Background(), HookPrestart, hooks, st, dir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(data), "\n", 4)
	if lines[0] != "argv0="+script+" args=a b" && lines[0] != "argv0=myhook args=a b" {
		t.Errorf("argv line %q", lines[0])
	}
	if strings.TrimSpace(lines[1]) != "env=SHLVL=1 X=1" && strings.TrimSpace(lines[1]) != "env=X=1" {
		t.Errorf("environment line %q, want X=1 only", lines[1])
	}
	if lines[2] != "cwd="+dir {
		t.Errorf("cwd line %q, want %s", lines[2], dir)
	}
	var got specs.State
	if err := json.Unmarshal([]byte(lines[3]), &got); err != nil {
		t.Fatalf("the hook's stdin %q: %v", lines[3], err)
	}
	if diff := cmp.Diff(st, got); diff != "" {
		t.Errorf("state on stdin (-want +got):\n%s", diff)
	}
}

// A failing hook stops the others and is named, with its output; one
// that outlives its timeout is killed, its children with it.
func TestRunHooksFailures(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	fail := hookScript(t, "echo broken network >&2; exit 3")
	after := hookScript(t, "touch "+marker)
	st := specs.State{ID: "c1"}
	err := RunHooks(context.Background(), HookCreateRuntime, []spec.Hook{{Path: fail}, {Path: after}}, st, dir)
	if err == nil || !strings.Contains(err.Error(), "createRuntime hook #0 ("+fail+")") ||
		!strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "broken network") {
		t.Errorf("RunHooks = %v, want the hook named with its status and output", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the hook after a failed one ran")
	}

	slow := hookScript(t, "sleep 60 & sleep 60")
	start := time.Now()
	err = RunHooks(context.Background(), HookPoststop, []spec.Hook{{Path: slow, Timeout: time.Second}}, st, dir)
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Errorf("RunHooks of a slow hook = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the timeout took %s", d)
	}
	if err := RunHooks(context.Background(), HookPoststart, []spec.Hook{{Path: "/nonexistent/hook"}}, st, dir); err == nil ||
		!strings.Contains(err.Error(), "/nonexistent/hook") {
		t.Errorf("RunHooks of a missing binary = %v", err)
	}
}

func TestHookKindOf(t *testing.T) {
	h := &spec.Hooks{Prestart: []spec.Hook{{Path: "/a"}}, Poststop: []spec.Hook{{Path: "/b"}}}
	if got := HookPrestart.Of(h); len(got) != 1 || got[0].Path != "/a" {
		t.Errorf("prestart: %v", got)
	}
	if got := HookPoststop.Of(h); len(got) != 1 || got[0].Path != "/b" {
		t.Errorf("poststop: %v", got)
	}
	if got := HookStartContainer.Of(h); got != nil {
		t.Errorf("startContainer: %v", got)
	}
	if got := HookPrestart.Of(nil); got != nil {
		t.Errorf("of nil: %v", got)
	}
}
