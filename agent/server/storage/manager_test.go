package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kite-vm/kite/agent/server/internal/nstest"
	"golang.org/x/sys/unix"
)

func TestMountPointConfinement(t *testing.T) {
	root := filepath.Join(t.TempDir(), "storage")
	outside := t.TempDir()
	os.MkdirAll(filepath.Join(root, "share"), 0o755)
	os.Symlink(outside, filepath.Join(root, "share", "evil"))
	m := NewManager(root)

	ok := map[string]string{
		"":                                       filepath.Join(root, "s1"),
		filepath.Join(root, "custom"):            filepath.Join(root, "custom"),
		filepath.Join(root, "share", "sub", "x"): filepath.Join(root, "share", "sub", "x"),
	}
	for req, want := range ok {
		got, err := m.mountPoint("s1", req)
		if err != nil || got != want {
			t.Errorf("mountPoint(%q) = %q, %v; want %q", req, got, err, want)
		}
	}
	refused := map[string]error{
		"/etc":                              ErrEscapes,
		root:                                ErrEscapes,
		root + "-other/x":                   ErrEscapes,
		filepath.Join(root, "share/evil/x"): ErrEscapes,
		root + "/a/../../x":                 ErrInvalid,
		"relative/x":                        ErrInvalid,
	}
	for req, want := range refused {
		if _, err := m.mountPoint("s1", req); !errors.Is(err, want) {
			t.Errorf("mountPoint(%q) error = %v, want %v", req, err, want)
		}
	}
	for _, id := range []string{"", "..", "a/b"} {
		if _, err := m.mountPoint(id, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("mountPoint with id %q error = %v, want ErrInvalid", id, err)
		}
	}
}

// TestIntegrationMountBindUnmount mounts for real in a private mount
// namespace: a tmpfs storage, a read-only bind of a directory inside it,
// and refusals of bind sources outside every storage.
func TestIntegrationMountBindUnmount(t *testing.T) {
	root := filepath.Join(t.TempDir(), "storage")
	outside := t.TempDir()
	nstest.InMountNS(t, func() {
		m := NewManager(root)
		local, err := m.Mount(Spec{ID: "scratch", Driver: Local, Options: []string{"size=1m"}})
		if err != nil {
			t.Error(err)
			return
		}
		if local != filepath.Join(root, "scratch") {
			t.Errorf("mount point = %s", local)
		}
		os.MkdirAll(filepath.Join(local, "data"), 0o755)
		os.WriteFile(filepath.Join(local, "data", "f"), []byte("x"), 0o644)
		os.Symlink(outside, filepath.Join(local, "out"))

		if _, err := m.Mount(Spec{ID: "scratch", Driver: Local}); !errors.Is(err, ErrExists) {
			t.Errorf("second mount of the same id: %v, want ErrExists", err)
		}
		ro, err := m.Mount(Spec{ID: "view", Driver: Bind, Source: filepath.Join(local, "data"), Readonly: true})
		if err != nil {
			t.Error(err)
			return
		}
		if b, err := os.ReadFile(filepath.Join(ro, "f")); err != nil || string(b) != "x" {
			t.Errorf("reading through the bind: %q, %v", b, err)
		}
		if err := os.WriteFile(filepath.Join(ro, "g"), nil, 0o644); !errors.Is(err, unix.EROFS) {
			t.Errorf("writing to the read-only bind: %v, want EROFS", err)
		}
		for _, src := range []string{outside, filepath.Join(local, "out")} {
			if _, err := m.Mount(Spec{ID: "bad", Driver: Bind, Source: src}); !errors.Is(err, ErrEscapes) {
				t.Errorf("bind of %s: %v, want ErrEscapes", src, err)
			}
		}

		if err := m.UnmountAll(); err != nil {
			t.Error(err)
		}
		for _, mp := range []string{local, ro} {
			if _, err := os.Stat(mp); !os.IsNotExist(err) {
				t.Errorf("mount point %s still there: %v", mp, err)
			}
		}
		if err := m.Unmount("scratch"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Unmount of a removed storage: %v, want ErrNotFound", err)
		}
	})
}
