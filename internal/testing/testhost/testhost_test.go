package testhost

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kite-vm/kite/guest/initramfs"
	"github.com/kite-vm/kite/internal/testing/sysfstest"
	"github.com/kite-vm/kite/qemu"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func TestRunPattern(t *testing.T) {
	for name, want := range map[string]string{
		"TestA":          "^TestA$",
		"TestA/sub_case": "^TestA$/^sub_case$",
		"TestA/x.y+":     `^TestA$/^x\.y\+$`,
	} {
		if got := runPattern(name); got != want {
			t.Errorf("runPattern(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestVMConfigGolden pins the test host's QEMU command line: the IOMMU
// before every PCI device, the NVMe PF's SR-IOV properties, the two 9p
// functions in one slot.
func TestVMConfigGolden(t *testing.T) {
	img := Image{Kernel: "/img/vmlinux", Initrd: "/img/testhost.cpio.gz"}
	cmd, err := vmConfig("/usr/bin/qemu-system-x86_64", img, "/run/th", "/run/th/work", Options{}.withDefaults()).Build()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(cmd.Args, "\n") + "\n"
	golden := filepath.Join("testdata", "vm.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("command line differs from %s (-want +got):\n%s", golden, diff)
	}
	iommu, firstPCI := -1, -1
	for i, a := range cmd.Args {
		if strings.HasPrefix(a, "intel-iommu") {
			iommu = i
		}
		if firstPCI < 0 && (strings.HasPrefix(a, "pcie-root-port") || strings.HasPrefix(a, "virtio-9p-pci")) {
			firstPCI = i
		}
	}
	if iommu < 0 || iommu > firstPCI {
		t.Errorf("intel-iommu at arg %d, first PCI device at %d: the IOMMU must come first", iommu, firstPCI)
	}
}

func TestSpecValidation(t *testing.T) {
	bad := []interface{ Validate() error }{
		SRIOVNVMe{ID: "n", Serial: "s", MaxVFs: 0},
		SRIOVNVMe{ID: "n", MaxVFs: 4},
		Share{ID: "s", Path: "/usr", Tag: "t"},
		IGB{Port: qemu.RootPort{ID: "rp", Chassis: 1, Slot: 1}},
		IGB{ID: "igb", Port: qemu.RootPort{ID: "rp", Chassis: 300}},
	}
	for _, d := range bad {
		if err := d.Validate(); err == nil {
			t.Errorf("%+v.Validate() = nil, want an error", d)
		}
	}
}

func TestWithTestHostInit(t *testing.T) {
	base := []initramfs.Entry{
		initramfs.File("init", 0o755, []byte("old")),
		initramfs.File("bin/busybox", 0o755, []byte("bb")),
	}
	got := map[string]initramfs.Entry{}
	for _, e := range withTestHostInit(base) {
		if _, dup := got[e.Path]; dup {
			t.Errorf("%s appears twice", e.Path)
		}
		got[e.Path] = e
	}
	if string(got["init"].Data) != initScript {
		t.Errorf("init was not replaced: %q", got["init"].Data)
	}
	for p, target := range map[string]string{"lib64": "usr/lib64", "lib/x86_64-linux-gnu": "../usr/lib/x86_64-linux-gnu"} {
		if e := got[p]; !e.IsSymlink() || e.Link != target {
			t.Errorf("%s = %+v, want a link to %s", p, e, target)
		}
	}
	for _, d := range []string{"usr", "work"} {
		if !got[d].IsDir() {
			t.Errorf("mount point %s missing", d)
		}
	}
}

func TestWriteRunScript(t *testing.T) {
	t.Setenv("KITE_TEST_STRICT", "1")
	dir := t.TempDir()
	if err := writeRunScript(dir, "TestX/it's", 0, []string{"A=b c"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, runScript))
	if err != nil {
		t.Fatal(err)
	}
	want := `#!/bin/sh
export 'KITE_IN_TESTHOST=1'
export 'KITE_TEST_STRICT=1'
export 'A=b c'
exec /work/test.bin -test.v -test.count=1 -test.run '^TestX$/^it'\''s$' -test.timeout "0s"
`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("run script (-want +got):\n%s", diff)
	}
}

func TestLineFollower(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	var lines []string
	f := &lineFollower{path: path, logf: func(s string) { lines = append(lines, s) }}
	f.poll(false) // no file yet
	write := func(s string) {
		fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fh.WriteString(s)
		fh.Close()
	}
	write("one\ntw")
	f.poll(false)
	write("o\nthree")
	f.poll(false)
	if diff := cmp.Diff([]string{"one", "two"}, lines); diff != "" {
		t.Errorf("before the final poll (-want +got):\n%s", diff)
	}
	f.poll(true)
	if diff := cmp.Diff([]string{"one", "two", "three"}, lines); diff != "" {
		t.Errorf("after the final poll (-want +got):\n%s", diff)
	}
	if f.all.String() != "one\ntwo\nthree" {
		t.Errorf("all = %q", f.all.String())
	}
}

func TestMarkerLine(t *testing.T) {
	console := "SeaBIOS\r\nBooting\n" + FailMarker + " insmod /lib/x.ko\n[ 1.0] reboot\n"
	if got := markerLine(console, FailMarker); got != FailMarker+" insmod /lib/x.ko" {
		t.Errorf("markerLine() = %q", got)
	}
	if got := markerLine(console, ReadyMarker); got != "" {
		t.Errorf("markerLine(ready) = %q, want none", got)
	}
}

func TestFindPF(t *testing.T) {
	tr := sysfstest.New(t)
	tr.Add(sysfstest.Function{BDF: "0000:00:04.0", Vendor: "0x1b36", Device: "0x000c", Class: "0x060400"})
	tr.Add(sysfstest.Function{BDF: "0000:02:00.0", Vendor: "0x1b36", Device: "0x0010", Class: "0x010802", TotalVFs: "4", NumVFs: "0"})
	tr.Add(sysfstest.Function{BDF: "0000:01:00.0", Vendor: "0x1b36", Device: "0x0010", Class: "0x010802"}) // no SR-IOV
	got, err := FindPF(tr.Root, NVMeVendor, NVMeDevice)
	if err != nil || got != "0000:02:00.0" {
		t.Errorf("FindPF() = %q, %v; want 0000:02:00.0", got, err)
	}
	if _, err := FindPF(tr.Root, "0x8086", "0x1572"); !errors.Is(err, ErrNoPF) {
		t.Errorf("FindPF(absent) error = %v, want ErrNoPF", err)
	}
}

func TestDebianMirror(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"deb822", map[string]string{
			"sources.list.d/other.sources":  "Types: deb\nURIs: http://other.example/x\nSuites: nodistro\nComponents: main\n",
			"sources.list.d/debian.sources": "Types: deb\n# a comment: here\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\n",
		}, "http://mirror.example/debian"},
		{"disabled stanza skipped", map[string]string{
			"sources.list.d/debian.sources": "Enabled: no\nURIs: http://off.example/debian\nSuites: bookworm\n\nURIs: http://on.example/debian\nSuites: bookworm\n",
		}, "http://on.example/debian"},
		{"one-line with options", map[string]string{
			"sources.list": "# deb http://commented.example/debian bookworm main\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://line.example/debian bookworm main contrib\n",
		}, "http://line.example/debian"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := debianMirror(dir)
			if err != nil || got != tt.want {
				t.Errorf("debianMirror() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := debianMirror(t.TempDir()); !errors.Is(err, ErrNoMirror) {
		t.Errorf("debianMirror(empty) error = %v, want ErrNoMirror", err)
	}
}
