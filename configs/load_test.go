package configs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kite-vm/kite/internal/testing/testutil"
)

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	system := writeFile(t, dir, "configuration.toml", "", 0o644)
	missing := filepath.Join(dir, "missing.toml")
	unreadable := filepath.Join(system, "x.toml") // ENOTDIR, not ENOENT
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvVar {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name, flag, env, system, want string
	}{
		{"flag wins", "/a.toml", "/b.toml", system, "/a.toml"},
		{"env over system", "", "/b.toml", system, "/b.toml"},
		{"system when present", "", "", system, system},
		{"defaults when system missing", "", "", missing, ""},
		{"system that cannot be checked", "", "", unreadable, unreadable},
		{"flag even if missing", missing, "", system, missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Locate(tt.flag, env(tt.env), tt.system); got != tt.want {
				t.Errorf("Locate = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	qemu := writeFile(t, dir, "qemu", "#!/bin/sh\n", 0o755)
	virtiofsd := writeFile(t, dir, "virtiofsd", "#!/bin/sh\n", 0o755)
	notExec := writeFile(t, dir, "not-exec", "", 0o644)
	missing := filepath.Join(dir, "missing")

	good := writeFile(t, dir, "good.toml", "[hypervisor]\npath = \""+qemu+"\"\nvcpus = 2\n[shared_fs]\nvirtiofsd_path = \""+virtiofsd+"\"\n", 0o644)
	c, err := Load(good)
	if err != nil {
		t.Fatalf("Load(good): %v", err)
	}
	want := Default()
	want.Hypervisor.Path, want.Hypervisor.VCPUs, want.SharedFS.VirtiofsdPath = qemu, 2, virtiofsd
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Load(good) (-want +got):\n%s", diff)
	}

	ninep := writeFile(t, dir, "9p.toml", "[hypervisor]\npath = \""+qemu+"\"\n[shared_fs]\ndriver = \"virtio-9p\"\nvirtiofsd_path = \""+missing+"\"\n", 0o644)
	if _, err := Load(ninep); err != nil {
		t.Errorf("virtiofsd is not needed with virtio-9p, got: %v", err)
	}

	t.Run("binaries", func(t *testing.T) {
		bad := writeFile(t, dir, "bad.toml", "# binaries that cannot run\n[hypervisor]\npath = \""+notExec+"\"\n"+
			"[shared_fs]\nvirtiofsd_path = \""+dir+"\"\n", 0o644)
		_, err := Load(bad)
		if err == nil {
			t.Fatal("no error")
		}
		checkErrors(t, err, bad, []wantErr{
			{3, "hypervisor.path", ErrPath, []string{notExec, "is not executable (mode -rw-r--r--)", "qemu-system-x86"}},
			{5, "shared_fs.virtiofsd_path", ErrPath, []string{dir, "is not a regular file", `shared_fs.driver = "virtio-9p"`}},
		})
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(missing)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
			t.Errorf("Load(missing) = %v, want a not-exist error naming the file", err)
		}
	})
	t.Run("bad file", func(t *testing.T) {
		_, err := Load(filepath.Join("testdata", "bad-enums.toml"))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Load(bad-enums.toml) = %v, want ErrInvalid", err)
		}
	})
}

// TestIntegrationLoadDefaults loads the embedded defaults alone, which needs
// QEMU and virtiofsd where the defaults say they are.
func TestIntegrationLoadDefaults(t *testing.T) {
	d := Default()
	testutil.RequireBinary(t, d.Hypervisor.Path, "qemu-system-x86")
	testutil.RequireVirtiofsd(t)
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, c); diff != "" {
		t.Errorf("Load(\"\") differs from Default():\n%s", diff)
	}
}

func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}
