package safepath

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOpenHost: a bind source resolves as the host resolves it, every
// component's link followed: issue 17's dir/etcdir/passwd, with etcdir ->
// /etc, is the host's /etc/passwd (docs/security.md says why).
func TestOpenHost(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/etc", filepath.Join(dir, "etcdir")); err != nil {
		t.Fatal(err)
	}
	p, err := OpenHost(filepath.Join(dir, "etcdir", "passwd"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got, err := p.Resolved(); err != nil || got != "/etc/passwd" {
		t.Errorf("Resolved = %q, %v; want /etc/passwd", got, err)
	}
	want, _ := os.ReadFile("/etc/passwd")
	if got, err := content(p.ProcPath()); err != nil || got != string(want) {
		t.Errorf("read through ProcPath: %v, not the host's /etc/passwd", err)
	}
	if _, err := OpenHost("etc/passwd"); !errors.Is(err, ErrInvalid) {
		t.Errorf("OpenHost of a relative path = %v, want ErrInvalid", err)
	}
	if _, err := OpenHost(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OpenHost of a missing path = %v, want ErrNotExist", err)
	}
}

// TestCreateBeneath: directories and files made beneath a root, in the
// volume of TestResolve: through links within it, never out of it, and
// exclusively; Remove takes a link away, not what it points to.
func TestCreateBeneath(t *testing.T) {
	base, vol := volume(t)
	if err := MkdirAll(vol, "dirlink/a/b", 0o700); err != nil {
		t.Fatalf("MkdirAll through a link within: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(vol, "data/a/b")); err != nil || !fi.IsDir() {
		t.Errorf("data/a/b: %v %v", fi, err)
	}
	if err := Create(vol, "dirlink/a/b/f", 0o600); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := Create(vol, "dirlink/a/b/f", 0o600); !errors.Is(err, unix.EEXIST) {
		t.Errorf("Create of an existing file = %v, want EEXIST", err)
	}
	if err := Create(vol, "rel", 0o600); !errors.Is(err, unix.EEXIST) {
		t.Errorf("Create over a link = %v, want EEXIST (never through it)", err)
	}
	if err := Mkdir(vol, "self", 0o700); !errors.Is(err, unix.EEXIST) {
		t.Errorf("Mkdir over a link = %v, want EEXIST", err)
	}
	outside := filepath.Join(base, "outside")
	os.Symlink(outside, filepath.Join(vol, "absdir"))
	os.Symlink("../outside", filepath.Join(vol, "updir"))
	for _, rel := range []string{"absdir/x", "updir/x", "absdir/x/y"} {
		if err := MkdirAll(vol, rel, 0o700); !errors.Is(err, ErrEscape) {
			t.Errorf("MkdirAll(%s) = %v, want ErrEscape", rel, err)
		}
		if err := Create(vol, rel, 0o600); !errors.Is(err, ErrEscape) {
			t.Errorf("Create(%s) = %v, want ErrEscape", rel, err)
		}
		if err := Remove(vol, rel); !errors.Is(err, ErrEscape) {
			t.Errorf("Remove(%s) = %v, want ErrEscape", rel, err)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 { // the secret alone
		t.Errorf("outside has %d entries, want the secret only", len(ents))
	}
	if err := Remove(vol, "dirlink"); err != nil {
		t.Fatalf("Remove of a link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(vol, "data/a/b/f")); err != nil {
		t.Errorf("removing the link removed its target's content: %v", err)
	}
	if err := Remove(vol, "data/a"); !errors.Is(err, unix.ENOTEMPTY) {
		t.Errorf("Remove of a full directory = %v, want ENOTEMPTY", err)
	}
	for _, rel := range []string{"", ".", "..", "/etc", "data/../../outside/x"} {
		if err := Mkdir(vol, rel, 0o700); !errors.Is(err, ErrInvalid) {
			t.Errorf("Mkdir(%q) = %v, want ErrInvalid", rel, err)
		}
	}
}
