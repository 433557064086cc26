package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookLogger is a hook that appends "<name> <state JSON>" to log: each
// hook of the lifecycle shows when it ran and what state it got.
func hookLogger(t *testing.T, log, name string) specs.Hook {
	t.Helper()
	script := filepath.Join(t.TempDir(), name)
	writeFile(t, script, "#!/bin/sh\nprintf '%s ' \"$1\" >> "+log+"\ncat >> "+log+"\necho >> "+log+"\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	return specs.Hook{Path: script, Args: []string{name, name}}
}

// TestIntegrationOCIHooks runs every kind of OCI hook through a
// container's life, on the host, with the state on stdin, and a prestart
// hook that does what Docker's does: it configures the network namespace
// of the pid the state names, and the container gets that interface.
func TestIntegrationOCIHooks(t *testing.T) {
	e := newOCIEnv(t, "")
	log := filepath.Join(t.TempDir(), "hooks.log")
	// The veth's host end is named after the test; its peer goes into the
	// init proxy's netns, as libnetwork-setkey moves Docker's.
	const hostEnd = "kitehook0"
	t.Cleanup(func() { deleteLink(t, hostEnd) })
	netHook := filepath.Join(t.TempDir(), "net")
	writeFile(t, netHook, `#!/bin/sh
set -e
pid=$(sed 's/.*"pid":\([0-9]*\).*/\1/')
ip link add `+hostEnd+` type veth peer name eth0 netns /proc/$pid/ns/net
nsenter --net=/proc/$pid/ns/net ip addr add 10.89.79.2/24 dev eth0
nsenter --net=/proc/$pid/ns/net ip link set eth0 up
ip link set `+hostEnd+` up
`)
	if err := os.Chmod(netHook, 0o755); err != nil {
		t.Fatal(err)
	}
	bundle := e.bundle([]string{"sh", "-c", "ip -o -4 addr show eth0; sleep 1000"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			//lint:ignore SA1019 deprecated by the runtime spec, still Docker's
			Prestart:        []specs.Hook{hookLogger(t, log, "prestart"), {Path: netHook}},
			CreateRuntime:   []specs.Hook{hookLogger(t, log, "createRuntime")},
			CreateContainer: []specs.Hook{hookLogger(t, log, "createContainer")},
			StartContainer:  []specs.Hook{hookLogger(t, log, "startContainer")},
			Poststart:       []specs.Hook{hookLogger(t, log, "poststart")},
			Poststop:        []specs.Hook{hookLogger(t, log, "poststop")},
		}
	})
	// The busybox rootfs has no ip applet: add it.
	rootfs := e.dirs[len(e.dirs)-1]
	if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", "ip")); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	stdout, stderr := e.outputFiles()
	pidFile := filepath.Join(t.TempDir(), "pid")
	if code := e.kiteIO(IO{In: strings.NewReader(""), Out: stdout, Err: stderr}, "create", "--bundle", bundle, "--pid-file", pidFile, "h1"); code != 0 {
		data, _ := os.ReadFile(stderr.Name())
		t.Fatalf("kite create = %d: %s", code, data)
	}
	pid := readPid(t, pidFile)
	e.mustKite("start", "h1")
	waitFile(t, stdout, "10.89.79.2/24")
	e.mustKite("kill", "h1", "KILL")
	e.waitStatus("h1", specs.StateStopped)
	e.mustKite("delete", "h1")

	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for line := range strings.Lines(string(data)) {
		name, js, _ := strings.Cut(strings.TrimSpace(line), " ")
		var st specs.State
		if err := json.Unmarshal([]byte(js), &st); err != nil {
			t.Fatalf("hook %s got %q on stdin: %v", name, js, err)
		}
		if st.ID != "h1" || st.Bundle != bundle {
			t.Errorf("hook %s got state %+v", name, st)
		}
		if wantPid := pid; st.Status == specs.StateStopped {
			if st.Pid != 0 {
				t.Errorf("hook %s got pid %d, want 0 once stopped", name, st.Pid)
			}
		} else if st.Pid != wantPid {
			t.Errorf("hook %s got pid %d, want the pid file's %d", name, st.Pid, wantPid)
		}
		got = append(got, name+" "+string(st.Status))
	}
	want := []string{"prestart creating", "createRuntime creating", "createContainer creating",
		"startContainer created", "poststart running", "poststop stopped"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("hooks ran: %q, want %q", got, want)
	}
	deleteLink(t, hostEnd)
	e.audit(before, "a container with hooks")
}

// TestIntegrationOCIHookFails: a failing prestart hook fails create with
// the hook's error, and nothing is left: no init proxy, netns, mount, file.
func TestIntegrationOCIHookFails(t *testing.T) {
	e := newOCIEnv(t, "")
	hook := filepath.Join(t.TempDir(), "fail")
	writeFile(t, hook, "#!/bin/sh\necho no network for you >&2\nexit 7\n")
	if err := os.Chmod(hook, 0o755); err != nil {
		t.Fatal(err)
	}
	bundle := e.bundle([]string{"true"}, func(s *specs.Spec) {
		//lint:ignore SA1019 deprecated by the runtime spec, still Docker's
		s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: hook}}}
	})
	before := e.snapshot()
	e.expectFail("a failing prestart hook", "prestart hook #0 ("+hook+"): exit status 7; output: no network for you", "create", "--bundle", bundle, "f1")
	e.audit(before, "a create whose prestart hook failed")
	e.expectFail("run with a failing prestart hook", "no network for you", "run", "--bundle", bundle, "f2")
	e.audit(before, "a run whose prestart hook failed")
}
