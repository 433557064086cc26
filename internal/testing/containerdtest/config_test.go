package containerdtest

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

func testCRI() *CRI {
	return &CRI{SandboxImage: "docker.io/library/busybox:pause", DefaultRuntime: "kite",
		Runtimes:  []Runtime{{Name: "kite", Type: "io.containerd.kite.v2", PrivilegedWithoutHostDevices: true}, {Name: "runc", Type: "io.containerd.runc.v2"}},
		CNIBinDir: "/usr/lib/cni", CNIConfDir: "/d/cni"}
}

// lookup walks a decoded TOML document along path.
func lookup(t *testing.T, doc map[string]any, path ...string) any {
	t.Helper()
	var cur any = doc
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%v: %q is not a table", path, k)
		}
		if cur, ok = m[k]; !ok {
			t.Fatalf("%v: no %q", path, k)
		}
	}
	return cur
}

func decode(t *testing.T, text string) map[string]any {
	t.Helper()
	doc := map[string]any{}
	if _, err := toml.Decode(text, &doc); err != nil {
		t.Fatalf("invalid TOML: %v\n%s", err, text)
	}
	return doc
}

func TestTOMLVersion2CRI(t *testing.T) {
	text, err := Config{Dir: "/d", CRI: testCRI(), DebugLog: true}.TOML(2, 6)
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, text)
	cri := []string{"plugins", "io.containerd.grpc.v1.cri"}
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"version"}, int64(2)},
		{[]string{"root"}, "/d/root"},
		{[]string{"state"}, "/d/state"},
		{[]string{"grpc", "address"}, "/d/c.sock"},
		{[]string{"debug", "level"}, "debug"},
		{append(cri, "sandbox_image"), "docker.io/library/busybox:pause"},
		{append(cri, "restrict_oom_score_adj"), true},
		{append(cri, "containerd", "default_runtime_name"), "kite"},
		{append(cri, "containerd", "runtimes", "kite", "runtime_type"), "io.containerd.kite.v2"},
		{append(cri, "containerd", "runtimes", "kite", "privileged_without_host_devices"), true},
		{append(cri, "containerd", "runtimes", "runc", "runtime_type"), "io.containerd.runc.v2"},
		{append(cri, "cni", "bin_dir"), "/usr/lib/cni"},
		{append(cri, "cni", "conf_dir"), "/d/cni"},
	} {
		if diff := cmp.Diff(c.want, lookup(t, doc, c.path...)); diff != "" {
			t.Errorf("%v: %s", c.path, diff)
		}
	}
	if strings.Contains(lookupString(doc), "cri") {
		t.Errorf("CRI disabled while configured: %s", lookupString(doc))
	}
}

// lookupString is the disabled plugins, joined.
func lookupString(doc map[string]any) string {
	var s []string
	for _, p := range doc["disabled_plugins"].([]any) {
		s = append(s, p.(string))
	}
	return strings.Join(s, " ")
}

func TestTOMLVersion3CRI(t *testing.T) {
	for _, c := range []struct {
		minor  int
		binKey string
		binVal any
	}{
		{0, "bin_dir", "/usr/lib/cni"},
		{4, "bin_dirs", []any{"/usr/lib/cni"}},
	} {
		text, err := Config{Dir: "/d", CRI: testCRI()}.TOML(3, c.minor)
		if err != nil {
			t.Fatal(err)
		}
		doc := decode(t, text)
		img := []string{"plugins", "io.containerd.cri.v1.images"}
		rt := []string{"plugins", "io.containerd.cri.v1.runtime"}
		for _, w := range []struct {
			path []string
			want any
		}{
			{[]string{"version"}, int64(3)},
			{append(img, "snapshotter"), "overlayfs"},
			{append(img, "pinned_images", "sandbox"), "docker.io/library/busybox:pause"},
			{append(rt, "restrict_oom_score_adj"), true},
			{append(rt, "containerd", "default_runtime_name"), "kite"},
			{append(rt, "containerd", "runtimes", "kite", "runtime_type"), "io.containerd.kite.v2"},
			{append(rt, "containerd", "runtimes", "kite", "privileged_without_host_devices"), true},
			{append(rt, "cni", c.binKey), c.binVal},
		} {
			if diff := cmp.Diff(w.want, lookup(t, doc, w.path...)); diff != "" {
				t.Errorf("2.%d %v: %s", c.minor, w.path, diff)
			}
		}
		if _, ok := doc["debug"]; ok {
			t.Errorf("debug table without DebugLog:\n%s", text)
		}
		if strings.Contains(lookupString(doc), "cri") {
			t.Errorf("CRI disabled while configured: %s", lookupString(doc))
		}
	}
}

func TestTOMLWithoutCRIDisablesIt(t *testing.T) {
	for v, want := range map[int]string{
		2: "io.containerd.grpc.v1.cri",
		3: "io.containerd.grpc.v1.cri io.containerd.cri.v1.runtime io.containerd.cri.v1.images",
	} {
		text, err := Config{Dir: "/d"}.TOML(v, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := lookupString(decode(t, text)); !strings.HasSuffix(got, want) {
			t.Errorf("version %d: disabled plugins %q, want them to end with %q", v, got, want)
		}
	}
}

func TestTOMLRefusesBadInput(t *testing.T) {
	noDefault := testCRI()
	noDefault.DefaultRuntime = "gvisor"
	noImage := testCRI()
	noImage.SandboxImage = ""
	for _, c := range []struct {
		name    string
		cfg     Config
		version int
		want    string
	}{
		{"version 1", Config{Dir: "/d"}, 1, "version 1"},
		{"no directory", Config{}, 2, "without a directory"},
		{"unknown default runtime", Config{Dir: "/d", CRI: noDefault}, 2, `"gvisor"`},
		{"no sandbox image", Config{Dir: "/d", CRI: noImage}, 3, "sandbox image"},
	} {
		if _, err := c.cfg.TOML(c.version, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for _, c := range []struct {
		out          string
		version      string
		major, minor int
	}{
		{"containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3\n", "1.6.20~ds1", 1, 6},
		{"containerd github.com/containerd/containerd v1.7.35 \n", "1.7.35", 1, 7},
		{"containerd github.com/containerd/containerd/v2 v2.4.2 \n", "2.4.2", 2, 4},
	} {
		v, major, minor, err := ParseVersion(c.out)
		if err != nil || v != c.version || major != c.major || minor != c.minor {
			t.Errorf("ParseVersion(%q) = %q %d.%d %v, want %q %d.%d", c.out, v, major, minor, err, c.version, c.major, c.minor)
		}
	}
	for _, bad := range []string{"", "runc version 1.1.5", "containerd x vX", "containerd x 1"} {
		if _, _, _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
}

func TestSplitRef(t *testing.T) {
	for ref, want := range map[string][2]string{
		"registry.k8s.io/e2e-test-images/busybox:1.29-2":   {"registry.k8s.io/e2e-test-images/busybox", "1.29-2"},
		"gcr.io/k8s-staging-cri-tools/hostnet-nginx-amd64": {"gcr.io/k8s-staging-cri-tools/hostnet-nginx-amd64", "latest"},
		"localhost:5000/img":                               {"localhost:5000/img", "latest"},
		"localhost:5000/img:v1":                            {"localhost:5000/img", "v1"},
	} {
		name, tag, err := SplitRef(ref)
		if err != nil || name != want[0] || tag != want[1] {
			t.Errorf("SplitRef(%q) = %q %q %v, want %q", ref, name, tag, err, want)
		}
	}
	for _, bad := range []string{"busybox", "r/img@sha256:0123", "r/img:", ""} {
		if _, _, err := SplitRef(bad); err == nil {
			t.Errorf("SplitRef(%q) accepted", bad)
		}
	}
}

func TestWithReleaseOnPath(t *testing.T) {
	for _, c := range []struct {
		env, want []string
	}{
		{[]string{"A=1", "PATH=/usr/bin:/bin", "B=2", "PATH=/shim:/usr/bin:/bin"}, []string{"A=1", "B=2", "PATH=/rel:/shim:/usr/bin:/bin"}},
		{[]string{"A=1"}, []string{"A=1", "PATH=/rel"}},
	} {
		if diff := cmp.Diff(c.want, withReleaseOnPath(c.env, "/rel")); diff != "" {
			t.Errorf("withReleaseOnPath(%q) (-want +got):\n%s", c.env, diff)
		}
	}
}
