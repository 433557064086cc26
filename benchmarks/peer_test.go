package benchmarks

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/configs"
)

func TestParseBootLog(t *testing.T) {
	dmesg := "[    0.000000] Linux version 6.1.0-57-amd64\n[    2.437120] Freeing unused kernel image\n[    2.451002] Run /init as init process\n"
	if d, err := parseInitTime(dmesg); err != nil || d != 2451002*time.Microsecond {
		t.Errorf("parseInitTime = %v, %v; want 2.451002s", d, err)
	}
	if _, err := parseInitTime("[    1.0] Run /init\n"); err == nil {
		t.Error("parseInitTime accepted a log without the init line")
	}
	for _, tc := range []struct {
		console string
		want    time.Duration
		wantErr string
	}{
		{"noise\ntime=2026-12-04T23:00:00Z level=DEBUG msg=\"kernel modules loaded\" count=30 took=412.5ms\n", 412500 * time.Microsecond, ""},
		{"time=x level=DEBUG msg=\"no module list\" path=/etc/kite/modules.load\n", 0, ""},
		{"time=x level=DEBUG msg=\"kernel modules loaded\" count=0\n", 0, "no took="},
		{"time=x level=DEBUG msg=\"kernel modules loaded\" took=soon\n", 0, "soon"},
		{"time=x level=INFO msg=\"kite-agent ready\"\n", 0, "log_level must be debug"},
	} {
		d, err := parseModuleLoading(tc.console)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseModuleLoading(%q) = %v, %v; want an error with %q", tc.console, d, err, tc.wantErr)
			}
			continue
		}
		if err != nil || d != tc.want {
			t.Errorf("parseModuleLoading(%q) = %v, %v; want %v", tc.console, d, err, tc.want)
		}
	}
}

func TestRotate(t *testing.T) {
	s := []string{"a", "b", "c"}
	for r, want := range map[int][]string{0: {"a", "b", "c"}, 1: {"b", "c", "a"}, 5: {"c", "a", "b"}, -1: {"c", "a", "b"}} {
		if diff := cmp.Diff(want, rotate(s, r)); diff != "" {
			t.Errorf("rotate(%d) (-want +got):\n%s", r, diff)
		}
	}
	if rotate([]string(nil), 3) != nil {
		t.Error("rotate of nothing")
	}
}

// templateKey reports whether this Kite's configuration has pool.template.
func templateKey(t *testing.T) bool {
	_, err := configs.Parse("probe.toml", []byte("[pool]\ntemplate = true\n"))
	if err != nil && !errors.Is(err, configs.ErrUnknownKey) {
		t.Fatalf("probing pool.template: %v", err)
	}
	return err == nil
}

// TestKiteModes: each mode's file is a configuration Kite loads, with the
// agent given time for bursts; the pooled ones have a pool; the templated
// one exists exactly when the pool.template key does, and says so when not.
func TestKiteModes(t *testing.T) {
	dir := t.TempDir()
	modes, notes, err := kiteModes(Env{Config: configs.Default()}, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range modes {
		names = append(names, m.name)
		data, err := os.ReadFile(m.config)
		if err != nil {
			t.Fatal(err)
		}
		c, err := configs.Parse(m.config, data)
		if err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if c.Agent.DialTimeout.Duration() != peerDialTimeout {
			t.Errorf("%s: agent.dial_timeout %s, want %s", m.name, c.Agent.DialTimeout.Duration(), peerDialTimeout)
		}
		if wantPool := m.kind == kindPool; (c.Pool.Size == 1) != wantPool {
			t.Errorf("%s: pool.size %d, pooled %v", m.name, c.Pool.Size, wantPool)
		}
		if got := strings.Contains(string(data), "template = true"); got != (m.name == kiteTemplated) {
			t.Errorf("%s: template set %v", m.name, got)
		}
	}
	want := []string{kiteCold, kitePooled}
	if templateKey(t) {
		want = append(want, kiteTemplated)
	} else if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "no pool.template key") }) {
		t.Errorf("no note says why the templated mode is missing: %q", notes)
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
}

func TestWriteKiteConfigRefusesUnknownKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	err := writeKiteConfig(path, configs.Default(), map[string]any{"bogus": 1})
	if !errors.Is(err, configs.ErrUnknownKey) || !strings.Contains(err.Error(), "pool.bogus") {
		t.Fatalf("writeKiteConfig = %v, want ErrUnknownKey naming pool.bogus", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a refused configuration was written: %v", err)
	}
}

// TestOCIPeers finds the runtimes on PATH, wraps crun on a hybrid cgroup
// host, runs runsc without network, and notes the ones missing.
func TestOCIPeers(t *testing.T) {
	bin := t.TempDir()
	for _, n := range []string{"runc", "crun", "runsc"} {
		if err := os.WriteFile(filepath.Join(bin, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	ps, notes := ociPeers("/w", "/w/cli.log", true)
	got := map[string][]string{}
	for _, p := range ps {
		got[p.name] = append([]string{p.cli.bin}, p.cli.global...)
	}
	want := map[string][]string{
		"runc":  {bin + "/runc", "--root", "/w/r"},
		"crun":  {"unshare", "-m", "sh", "-c", `umount /sys/fs/cgroup/unified && exec "$0" "$@"`, bin + "/crun", "--root", "/w/c"},
		"runsc": {bin + "/runsc", "--root=/w/s", "--network=none"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("peers (-want +got):\n%s", diff)
	}
	if ps[2].kind != kindRunsc || ps[0].kind != kindOCI {
		t.Errorf("kinds: %v %v", ps[0].kind, ps[2].kind)
	}
	if len(notes) != 2 || !strings.HasPrefix(notes[0], "crun: in a private mount namespace") || !strings.HasPrefix(notes[1], "runsc: --network=none") {
		t.Errorf("notes = %q, want how crun and runsc run", notes)
	}
	os.Remove(filepath.Join(bin, "runsc"))
	ps, notes = ociPeers("/w", "/w/cli.log", false)
	if len(ps) != 2 || ps[1].cli.bin != bin+"/crun" {
		t.Errorf("without runsc, on a plain cgroup host: %+v", ps)
	}
	if !slices.Contains(notes, "runsc: not run: not installed (apt-get install runsc)") {
		t.Errorf("notes %q do not say runsc is missing", notes)
	}
}

func TestHybridCgroups(t *testing.T) {
	dir := t.TempDir()
	v1 := "30 25 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:10 - cgroup cgroup rw,memory\n"
	unified := "29 25 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
	v2 := "29 25 0:26 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
	for _, tc := range []struct {
		table string
		want  bool
	}{{v1 + unified, true}, {v2, false}, {v1, false}, {"garbage\n", false}} {
		path := filepath.Join(dir, "mountinfo")
		if err := os.WriteFile(path, []byte(tc.table), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := hybridCgroups(path); got != tc.want {
			t.Errorf("hybridCgroups(%q) = %v, want %v", tc.table, got, tc.want)
		}
	}
}

// TestProcessesAndLeftovers finds a process tree and a process by its
// argument, and reports it as left over until it ends.
func TestProcessesAndLeftovers(t *testing.T) {
	root := t.TempDir()
	cmd := exec.Command("sh", "-c", `sleep 60 & wait`, "--root="+root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	kill := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() }
	t.Cleanup(kill)
	var ps []proc
	for end := time.Now().Add(5 * time.Second); len(ps) < 2 && time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		var err error
		if ps, err = processTree("/proc", []int{cmd.Process.Pid}); err != nil {
			t.Fatal(err)
		}
	}
	if len(ps) != 2 || ps[0].pid != cmd.Process.Pid {
		t.Fatalf("processTree = %+v, want the shell and its sleep", ps)
	}
	if got := withArg("/proc", "--root="+root, false); !slices.Equal(got, []int{cmd.Process.Pid}) {
		t.Errorf("withArg = %v, want [%d]", got, cmd.Process.Pid)
	}
	if sumPSSKiB("/proc", ps) <= 0 {
		t.Error("no PSS")
	}
	p := &peer{name: "runsc", kind: kindRunsc, root: root}
	if err := os.WriteFile(filepath.Join(root, "b1_sandbox:b1.state"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := p.leftovers(ps, []string{"b1"})
	if err == nil || !strings.Contains(err.Error(), "still runs") || !strings.Contains(err.Error(), "b1_sandbox:b1.state is left") {
		t.Fatalf("leftovers = %v, want the processes and the state file", err)
	}
	kill()
	os.Remove(filepath.Join(root, "b1_sandbox:b1.state"))
	for end := time.Now().Add(5 * time.Second); p.leftovers(ps, []string{"b1"}) != nil && time.Now().Before(end); {
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.leftovers(ps, []string{"b1"}); err != nil {
		t.Errorf("after the processes ended: %v", err)
	}
}
