package guest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/guest/internal/synth"
	"github.com/kite-vm/kite/guest/kernel"
	"github.com/kite-vm/kite/guest/kmod"
	"github.com/kite-vm/kite/internal/testing/testutil"
)

const kiteRelease = "6.1.999-kite"

var testTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// kiteFixture is a fixture whose cache already holds a built Kite kernel for
// a synthetic linux-source package: Build takes the kernel from the cache,
// as it does on every build after the first, without compiling.
type kiteFixture struct {
	*fixture
	source string // the linux-source .deb
	tree   string // the cached kernel's directory
}

// kiteModules are the cached kernel's modules in these tests: one with a
// dependency, as an operator's fragment with CONFIG_IP_SCTP=m would add.
var kiteModules = []synth.ModuleSpec{
	{Name: "udp_tunnel", Path: "kernel/net/ipv4/udp_tunnel.ko"},
	{Name: "sctp", Path: "kernel/net/sctp/sctp.ko", Depends: []string{"udp_tunnel"}},
}

func newKiteFixture(t *testing.T) *kiteFixture {
	t.Helper()
	testutil.RequireBinary(t, "gcc", "gcc") // the build key names the compiler
	f := &kiteFixture{fixture: newFixture(t)}
	f.source = filepath.Join(filepath.Dir(f.deb), "linux-source-6.1_6.1.999-1_all.deb")
	writeFile(t, f.source, synth.Deb("Package: linux-source-6.1\nVersion: 6.1.999-1\nArchitecture: all\n",
		[]synth.DebFile{{Path: "usr/share/doc/linux-source-6.1/copyright", Data: []byte("GPL-2\n")}}), 0o644)
	f.tree = f.cacheKernel(t, f.key(t))
	return f
}

func (f *kiteFixture) options(out string) BuildOptions {
	o := f.fixture.options(out)
	o.Kernel, o.KernelDeb, o.SourceDeb = KernelKite, "", f.source
	return o
}

// key is the build key Build computes for the fixture's source and fragments.
func (f *kiteFixture) key(t *testing.T, extra ...kernel.Fragment) string {
	t.Helper()
	tc, err := kernel.Toolchain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kd := mustLocalDeb(t, f.source)
	return kernel.KeyInputs{Source: kernelSource(kd), Fragments: append([]kernel.Fragment{kernel.KiteFragment()}, extra...), Toolchain: tc}.Key()
}

// cacheKernel lays out what kernel.Build leaves for a kernel that has
// Kite's default modules built in (less KiteOmits) and kiteModules as
// modules, and indexes it into the cache under key.
func (f *kiteFixture) cacheKernel(t *testing.T, key string) string {
	t.Helper()
	dir := filepath.Join(f.cache, kiteTreeName(key))
	res := kernel.Result{Release: kiteRelease, Vmlinux: filepath.Join(dir, kernel.VmlinuxFile),
		Config: filepath.Join(dir, kernel.ConfigFile), ModulesDir: filepath.Join(dir, "lib/modules", kiteRelease)}
	os.MkdirAll(res.ModulesDir, 0o755)
	writeFile(t, res.Vmlinux, f.vmlinux, 0o644)
	writeFile(t, res.Config, []byte("CONFIG_PVH=y\n"), 0o644)
	builtin := []string{"kernel/drivers/net/ethernet/intel/iavf/iavf.ko"}
	for _, m := range synth.DebianModules() {
		if _, omitted := KiteOmits[m.Name]; !omitted {
			builtin = append(builtin, m.Path)
		}
	}
	writeFile(t, filepath.Join(res.ModulesDir, "modules.builtin"), []byte(strings.Join(builtin, "\n")+"\n"), 0o644)
	for _, m := range kiteModules {
		p := filepath.Join(res.ModulesDir, m.Path)
		os.MkdirAll(filepath.Dir(p), 0o755)
		writeFile(t, p, m.KO(), 0o644)
	}
	tree, err := indexKiteTree(dir, key, res)
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.save(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBuildKiteKernelLoadsNoDefaultModule(t *testing.T) {
	f := newKiteFixture(t)
	out := t.TempDir()
	var ev events
	opts := f.options(out)
	opts.Progress = ev.progress()
	m, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if ev.has(StepKernel) || ev.has(StepCompile) {
		t.Errorf("a cached Kite kernel was built again: %+v", ev)
	}
	if m.Kernel.From() != KernelKite || m.Kernel.Package != "linux-source-6.1" || m.Kernel.Release != kiteRelease ||
		m.Kernel.BuildKey != f.key(t) || m.Kernel.DebSHA256 != mustLocalDeb(t, f.source).SHA256 {
		t.Errorf("kernel record = %+v", m.Kernel)
	}
	if got, _ := os.ReadFile(PathsIn(out).Kernel); !bytes.Equal(got, f.vmlinux) {
		t.Error("vmlinux is not the cached Kite kernel's")
	}
	if len(m.Modules) != 0 {
		t.Errorf("modules to load = %v, want none: the Kite kernel has them built in", m.ModuleNames())
	}
	wantBuiltin := slices.DeleteFunc(DefaultModules(), func(n string) bool { _, ok := KiteOmits[n]; return ok })
	if diff := cmp.Diff(wantBuiltin, m.Builtin); diff != "" {
		t.Errorf("built in (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantBuiltin, m.Requested); diff != "" {
		t.Errorf("requested (-want +got):\n%s", diff)
	}
	img := readImage(t, out)
	if got := string(img["etc/kite/modules.load"].Data); got != "" {
		t.Errorf("modules.load = %q, want empty", got)
	}
	builtin := img["lib/modules/"+kiteRelease+"/modules.builtin"]
	if !strings.Contains(string(builtin.Data), "kernel/fs/ext4/ext4.ko\n") {
		t.Errorf("the image's modules.builtin (for the agent) = %q", builtin.Data)
	}
	for p := range img {
		if strings.HasSuffix(p, ".ko") {
			t.Errorf("the image holds %s", p)
		}
	}

	ev = nil
	if _, err := Build(context.Background(), opts); err != nil || !ev.has(StepCached) {
		t.Errorf("second build: %v, events %+v; want it cached", err, ev)
	}
}

func TestBuildKiteKernelModule(t *testing.T) {
	f := newKiteFixture(t)
	opts := f.options(t.TempDir())
	opts.ExtraModules = []string{"sctp", "iavf"}
	m, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if diff := cmp.Diff([]string{"udp_tunnel", "sctp"}, m.ModuleNames()); diff != "" {
		t.Errorf("modules (-want +got):\n%s", diff)
	}
	if !slices.Contains(m.Builtin, "iavf") {
		t.Errorf("iavf (built into the Kite kernel) not in the built-in list %v", m.Builtin)
	}
	img := readImage(t, opts.OutDir)
	want := "/lib/modules/" + kiteRelease + "/kernel/net/ipv4/udp_tunnel.ko\n/lib/modules/" + kiteRelease + "/kernel/net/sctp/sctp.ko\n"
	if got := string(img["etc/kite/modules.load"].Data); got != want {
		t.Errorf("modules.load = %q, want %q", got, want)
	}

	// A module the Kite kernel lacks: the error says what to do.
	opts.ExtraModules = []string{"xfs"}
	_, err = Build(context.Background(), opts)
	if !errors.Is(err, kmod.ErrNotFound) || !strings.Contains(err.Error(), "--kernel-config") {
		t.Errorf("Build(module the Kite kernel lacks) = %v, want %v with a hint", err, kmod.ErrNotFound)
	}
}

// TestBuildKiteKernelKeyFollowsFragments: an operator's fragment changes
// the build key, so the cached kernel is not used: Build starts a kernel
// build (which fails at once here: the synthetic source has no tarball).
func TestBuildKiteKernelKeyFollowsFragments(t *testing.T) {
	testutil.RequireBinary(t, "dpkg-deb", "dpkg")
	f := newKiteFixture(t)
	frag := filepath.Join(t.TempDir(), "sctp.config")
	writeFile(t, frag, []byte("CONFIG_IP_SCTP=y\n"), 0o644)
	opts := f.options(t.TempDir())
	opts.KernelConfig = []string{frag}
	var ev events
	opts.Progress = ev.progress()
	_, err := Build(context.Background(), opts)
	if err == nil || !ev.has(StepKernel) {
		t.Fatalf("Build() with a new fragment = %v, events %+v; want a kernel build started", err, ev)
	}
	if !strings.Contains(ev.find(StepKernel), "kite.config + sctp.config") {
		t.Errorf("kernel step %q does not name the fragments", ev.find(StepKernel))
	}
	if !strings.Contains(err.Error(), "building the Kite kernel") && !errors.Is(err, kernel.ErrToolchain) {
		t.Errorf("error = %v", err)
	}
	if _, err := os.Stat(filepath.Join(opts.OutDir, ManifestFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed kernel build left a manifest (%v)", err)
	}
	// The cached kernel of the other key is still there.
	if loadKiteTree(f.tree, f.key(t)) == nil {
		t.Error("a failed build of another key damaged the cached kernel")
	}

	bad := filepath.Join(t.TempDir(), "bad.config")
	writeFile(t, bad, []byte("CONFIG_X=y\nnot a setting\n"), 0o644)
	opts.KernelConfig = []string{bad}
	if _, err := Build(context.Background(), opts); !errors.Is(err, kernel.ErrFragment) {
		t.Errorf("Build() with a malformed fragment = %v, want %v", err, kernel.ErrFragment)
	}
}

func TestBuildKiteKernelOptions(t *testing.T) {
	tests := []struct {
		name string
		opts BuildOptions
	}{
		{"kernel deb with kite", BuildOptions{OutDir: "/x", AgentPath: "/a", Kernel: KernelKite, KernelDeb: "/k.deb"}},
		{"fragment with debian", BuildOptions{OutDir: "/x", AgentPath: "/a", Kernel: KernelDebian, KernelConfig: []string{"/f"}}},
		{"source deb with debian", BuildOptions{OutDir: "/x", AgentPath: "/a", KernelDeb: "/k.deb", SourceDeb: "/s.deb"}},
		{"unknown kernel", BuildOptions{OutDir: "/x", AgentPath: "/a", Kernel: "fedora"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Build(context.Background(), tt.opts); !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("Build() error = %v, want %v", err, ErrInvalidOptions)
			}
		})
	}
}

func TestPruneKiteKernels(t *testing.T) {
	cache := t.TempDir()
	var names []string
	for i, key := range []string{"1111111111111111aa", "2222222222222222aa", "3333333333333333aa", "4444444444444444aa"} {
		name := kiteTreeName(key)
		names = append(names, name)
		os.MkdirAll(filepath.Join(cache, name), 0o755)
		writeFile(t, filepath.Join(cache, name, treeFile), []byte("{}"), 0o644)
		writeFile(t, filepath.Join(cache, name+".log"), nil, 0o644)
		at := testTime.AddDate(0, 0, i)
		os.Chtimes(filepath.Join(cache, name, treeFile), at, at)
	}
	os.MkdirAll(filepath.Join(cache, kiteTreeName("5555555555555555")), 0o755) // being built
	// The oldest is the one just used: it stays, with the two newest.
	if err := pruneKiteKernels(cache, names[0]); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(cache)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{names[0], names[0] + ".log", names[2], names[2] + ".log", names[3], names[3] + ".log", kiteTreeName("5555555555555555")}
	slices.Sort(want)
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("cache after pruning (-want +got):\n%s", diff)
	}
}
