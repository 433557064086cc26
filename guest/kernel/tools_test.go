package kernel

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kite-vm/kite/guest/internal/synth"
)

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s here (try: make setup)", tool)
		}
	}
}

// sourceDeb writes a linux-source-like package whose tarball holds files
// under linux-source-6.1/.
func sourceDeb(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	top := filepath.Join(dir, "linux-source-6.1")
	for name, body := range files {
		p := filepath.Join(top, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var tarball bytes.Buffer
	cmd := exec.Command("tar", "-cJ", "-C", dir, "linux-source-6.1")
	cmd.Stdout = &tarball
	if err := cmd.Run(); err != nil {
		t.Fatalf("tar -cJ: %v", err)
	}
	deb := filepath.Join(dir, "linux-source-6.1_6.1.999-1_all.deb")
	data := synth.Deb("Package: linux-source-6.1\nVersion: 6.1.999-1\nArchitecture: all\n", []synth.DebFile{
		{Path: "usr/share/doc/linux-source-6.1/copyright", Data: []byte("GPL-2\n")},
		{Path: "usr/src/linux-source-6.1.tar.xz", Data: tarball.Bytes()},
	})
	if err := os.WriteFile(deb, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return deb
}

func TestExtractSource(t *testing.T) {
	requireTools(t, "dpkg-deb", "tar", "xz")
	deb := sourceDeb(t, map[string]string{"Makefile": "VERSION = 6\n", "scripts/kconfig/merge_config.sh": "#!/bin/sh\n"})
	dir := t.TempDir()
	var log bytes.Buffer
	if err := extractSource(context.Background(), deb, dir, &log); err != nil {
		t.Fatalf("extractSource() error = %v; log:\n%s", err, log.String())
	}
	for name, want := range map[string]string{"Makefile": "VERSION = 6\n", "scripts/kconfig/merge_config.sh": "#!/bin/sh\n"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q at the top of dir", name, got, err, want)
		}
	}
}

func TestExtractSourceNotASourcePackage(t *testing.T) {
	requireTools(t, "dpkg-deb", "tar", "xz")
	deb := filepath.Join(t.TempDir(), "x.deb")
	os.WriteFile(deb, synth.Deb("Package: x\nVersion: 1\nArchitecture: all\n", []synth.DebFile{{Path: "usr/share/x", Data: []byte("x")}}), 0o644)
	err := extractSource(context.Background(), deb, t.TempDir(), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "holds no usr/src/linux-source-") {
		t.Errorf("extractSource(not a source package) = %v", err)
	}
}

func TestBuildRefusesMissingOptions(t *testing.T) {
	if _, err := Build(context.Background(), Options{}); err == nil {
		t.Error("Build(Options{}) succeeded")
	}
}

func TestCheckToolsNamesPackages(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := CheckTools()
	if !errors.Is(err, ErrToolchain) {
		t.Fatalf("CheckTools() with an empty PATH = %v, want %v", err, ErrToolchain)
	}
	for _, want := range []string{"gcc", "flex", "bison", "bc", "binutils", "xz-utils"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
