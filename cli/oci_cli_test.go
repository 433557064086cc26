package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestOCIUsageErrors(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create"}, "want one container id"},
		{[]string{"start", "a", "b"}, "want one container id"},
		{[]string{"kill"}, "want ID [SIGNAL]"},
		{[]string{"kill", "a", "TERM", "extra"}, "want ID [SIGNAL]"},
		{[]string{"exec", "a"}, "want ID and a COMMAND"},
		{[]string{"exec", "--user", "root", "a", "true"}, "numeric UID"},
		{[]string{"list", "--format", "xml"}, `--format "xml"`},
		{[]string{"ps", "--format", "yaml", "a"}, `--format "yaml"`},
		{[]string{"delete", "--bogus", "a"}, "flag provided but not defined"},
	} {
		code, _, errOut := run(t, nil, append([]string{"--root", root}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("kite %v = %d, %q; want exit %d and %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
}

func TestListEmptyRoot(t *testing.T) {
	root := t.TempDir()
	code, out, errOut := run(t, nil, "--root", root, "list")
	if code != 0 || strings.Join(strings.Fields(out), " ") != "ID PID STATUS BUNDLE CREATED" {
		t.Errorf("kite list = %d, %q, %q", code, out, errOut)
	}
	code, out, _ = run(t, nil, "--root", root+"/none", "list", "--format", "json")
	if code != 0 || out != "[]\n" {
		t.Errorf("kite list --format json of a missing root = %d, %q", code, out)
	}
}

func TestParseUser(t *testing.T) {
	for in, want := range map[string]specs.User{
		"0":        {},
		"1000":     {UID: 1000},
		"1000:100": {UID: 1000, GID: 100},
		"65534:0":  {UID: 65534},
	} {
		got, err := parseUser(in)
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("parseUser(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "root", "1:x", "-1", "99999999999"} {
		if _, err := parseUser(in); err == nil {
			t.Errorf("parseUser(%q) succeeded", in)
		}
	}
}

func TestExecProcessSpecFromBundle(t *testing.T) {
	bundle := t.TempDir()
	spec := runcSpec(t.TempDir(), []string{"sleep", "1"})
	writeSpec(t, bundle, spec)
	got, err := execProcessSpec(bundle, []string{"ls", "-l"}, execOptions{tty: true, env: stringList{"A=1"}, cwd: "/tmp", user: "5:6"})
	if err != nil {
		t.Fatal(err)
	}
	want := *spec.Process
	want.Args, want.Terminal, want.Cwd = []string{"ls", "-l"}, true, "/tmp"
	want.Env = append(append([]string(nil), want.Env...), "A=1")
	want.User = specs.User{UID: 5, GID: 6}
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("exec process (-want +got):\n%s", diff)
	}
}
