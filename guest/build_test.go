package guest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/guest/initramfs"
	"github.com/kite-vm/kite/guest/kmod"
)

// wantLoad is the default set's load order with crc16 built in.
const wantLoad = "virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console " +
	"failover net_failover virtio_net virtio_blk virtio_balloon fuse virtiofs netfs fscache 9pnet 9pnet_virtio 9p " +
	"libnvdimm nd_btt nd_pmem nfit mbcache jbd2 crc32c_generic ext4 " +
	"vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport"

func readImage(t *testing.T, dir string) map[string]initramfs.Entry {
	t.Helper()
	f, err := os.Open(PathsIn(dir).Initrd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := initramfs.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]initramfs.Entry{}
	for _, e := range es {
		m[e.Path] = e
	}
	return m
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestBuildLayout(t *testing.T) {
	f := newFixture(t)
	out := t.TempDir()
	m, err := Build(context.Background(), f.options(out))
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if got, _ := os.ReadFile(PathsIn(out).Kernel); !bytes.Equal(got, f.vmlinux) {
		t.Errorf("vmlinux is not the ELF inside the bzImage")
	}
	if diff := cmp.Diff(strings.Fields(wantLoad), m.ModuleNames()); diff != "" {
		t.Errorf("module order mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"crc16"}, m.Builtin); diff != "" {
		t.Errorf("builtin mismatch (-want +got):\n%s", diff)
	}
	deb, _ := os.ReadFile(f.deb)
	agent, _ := os.ReadFile(f.agent)
	wantKernel := Kernel{Source: KernelDebian, Package: "linux-image-" + testRelease, Version: "6.1.999-1", Release: testRelease,
		DebSHA256: sha(deb), VmlinuxSHA256: sha(f.vmlinux), VmlinuxSize: int64(len(f.vmlinux))}
	if diff := cmp.Diff(wantKernel, m.Kernel); diff != "" {
		t.Errorf("kernel record mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&Blob{SHA256: sha(agent), Size: int64(len(agent)), Version: "test-1"}, m.Agent); diff != "" {
		t.Errorf("agent record mismatch (-want +got):\n%s", diff)
	}

	img := readImage(t, out)
	var paths []string
	for p, e := range img {
		if !strings.HasPrefix(p, "lib/") || e.IsDir() && strings.Count(p, "/") < 3 {
			paths = append(paths, p)
		}
	}
	wantPaths := []string{"bin", "bin/busybox", "bin/ls", "bin/mount", "bin/sh", "dev", "etc", "etc/kite",
		"etc/kite/manifest.json", "etc/kite/modules.load", "init", "lib", "lib/modules", "lib/modules/" + testRelease,
		"mnt", "proc", "run", "sys", "tmp"}
	if diff := cmp.Diff(wantPaths, slices.Sorted(slices.Values(paths))); diff != "" {
		t.Errorf("image layout mismatch (-want +got):\n%s", diff)
	}
	checks := []struct {
		path string
		mode fs.FileMode
		data []byte
	}{
		{"init", 0o755, agent},
		{"bin/sh", fs.ModeSymlink | 0o777, nil},
		{"tmp", fs.ModeDir | fs.ModeSticky | 0o777, nil},
		{"dev", fs.ModeDir | 0o755, nil},
	}
	for _, c := range checks {
		e := img[c.path]
		if e.Mode != c.mode || (c.data != nil && !bytes.Equal(e.Data, c.data)) {
			t.Errorf("%s: mode %v (want %v), %d bytes", c.path, e.Mode, c.mode, len(e.Data))
		}
	}
	if l := img["bin/sh"].Link; l != "busybox" {
		t.Errorf("bin/sh -> %q, want busybox", l)
	}

	var load []string
	for _, mod := range m.Modules {
		load = append(load, mod.Path)
		e, ok := img[strings.TrimPrefix(mod.Path, "/")]
		if !ok || sha(e.Data) != mod.SHA256 {
			t.Errorf("module %s missing from the image or with another hash", mod.Path)
		}
	}
	if got := string(img["etc/kite/modules.load"].Data); got != strings.Join(load, "\n")+"\n" {
		t.Errorf("modules.load =\n%s\nwant the manifest's module paths in order", got)
	}
	if !strings.HasPrefix(load[0], "/lib/modules/"+testRelease+"/kernel/drivers/virtio/virtio_ring.ko") {
		t.Errorf("first module path %q", load[0])
	}

	loaded, err := LoadManifest(out)
	if err != nil {
		t.Fatalf("LoadManifest() error = %v", err)
	}
	if diff := cmp.Diff(m, loaded); diff != "" {
		t.Errorf("LoadManifest() differs from Build()'s (-build +load):\n%s", diff)
	}
	var guestCopy Manifest
	if err := json.Unmarshal(img["etc/kite/manifest.json"].Data, &guestCopy); err != nil {
		t.Fatal(err)
	}
	want := *m
	want.Initramfs = nil
	if diff := cmp.Diff(&want, &guestCopy); diff != "" {
		t.Errorf("guest manifest mismatch (-want +got):\n%s", diff)
	}
}

func TestBuildExtraModules(t *testing.T) {
	f := newFixture(t)
	opts := f.options(t.TempDir())
	opts.NoDefaultModules = true
	opts.ExtraModules = []string{"zzz-extra", "crc32"}
	m, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if diff := cmp.Diff([]string{"aaa_dep", "zzz_extra"}, m.ModuleNames()); diff != "" {
		t.Errorf("module order mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"crc32"}, m.Builtin); diff != "" {
		t.Errorf("builtin mismatch (-want +got):\n%s", diff)
	}
	img := readImage(t, opts.OutDir)
	if _, ok := img["lib/modules/"+testRelease+"/kernel/aaa/aaa_dep.ko"]; !ok {
		t.Error("aaa_dep.ko (seen before it was known to be needed) is missing from the image")
	}
}

func TestBuildUnknownModule(t *testing.T) {
	f := newFixture(t)
	opts := f.options(t.TempDir())
	opts.ExtraModules = []string{"no_such_module"}
	_, err := Build(context.Background(), opts)
	if !errors.Is(err, kmod.ErrNotFound) || !strings.Contains(err.Error(), `"no_such_module"`) {
		t.Fatalf("Build() error = %v, want %v naming the module", err, kmod.ErrNotFound)
	}
	if _, err := os.Stat(filepath.Join(opts.OutDir, ManifestFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed build left a manifest (stat: %v)", err)
	}
}

func TestBuildBaseline(t *testing.T) {
	f := newFixture(t)
	opts := f.options(t.TempDir())
	opts.Init, opts.AgentPath = InitBusybox, ""
	m, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if m.Agent != nil || m.Init != InitBusybox {
		t.Errorf("baseline manifest: init %q, agent %+v", m.Init, m.Agent)
	}
	init := readImage(t, opts.OutDir)["init"]
	if !strings.HasPrefix(string(init.Data), "#!/bin/busybox sh\n") || !strings.Contains(string(init.Data), BaselineMarker) ||
		!strings.Contains(string(init.Data), ModulesLoadPath) || init.Mode != 0o755 {
		t.Errorf("baseline /init (mode %v):\n%s", init.Mode, init.Data)
	}
}

func TestBuildOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		opts BuildOptions
	}{
		{name: "no out dir", opts: BuildOptions{AgentPath: "/a"}},
		{name: "agent init without agent", opts: BuildOptions{OutDir: "/x"}},
		{name: "unknown init", opts: BuildOptions{OutDir: "/x", Init: "systemd"}},
		{name: "unknown format", opts: BuildOptions{OutDir: "/x", AgentPath: "/a", Format: "qcow2"}},
		{name: "nvdimm without the agent", opts: BuildOptions{OutDir: "/x", Init: InitBusybox, Format: FormatNVDIMM}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Build(context.Background(), tt.opts); !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("Build() error = %v, want %v", err, ErrInvalidOptions)
			}
		})
	}
}

func TestGoVersion(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if v := goVersion(self); v == "" {
		t.Error("goVersion() of the Go test binary is empty")
	}
	f := newFixture(t)
	if v := goVersion(f.busybox); v != "" {
		t.Errorf("goVersion() of a shell script = %q, want empty", v)
	}
}
