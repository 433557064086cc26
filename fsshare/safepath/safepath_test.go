package safepath

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kite-vm/kite/internal/testing/testutil"
	"golang.org/x/sys/unix"
)

// volume builds, under a temp dir:
//
//	outside/secret            a file the volume must never reach
//	vol/data/file             "inside"
//	vol/rel -> data/file      relative, inside
//	vol/dirlink -> data       a directory link, inside
//	vol/up -> data/../data/file
//	vol/chain -> rel          a link to a link
//	vol/abs -> <outside>/secret
//	vol/absin -> <vol>/data/file   absolute, even though it points inside
//	vol/esc -> ../outside/secret
//	vol/data/deep -> ../../outside/secret
//	vol/loop1 -> loop2, vol/loop2 -> loop1
//	vol/self -> .
func volume(t *testing.T) (base, vol string) {
	t.Helper()
	base = t.TempDir()
	vol = filepath.Join(base, "vol")
	for _, d := range []string{"outside", "vol/data"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(filepath.Join(base, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("outside/secret", "secret")
	write("vol/data/file", "inside")
	links := map[string]string{
		"vol/rel": "data/file", "vol/dirlink": "data", "vol/up": "data/../data/file", "vol/chain": "rel",
		"vol/abs": filepath.Join(base, "outside/secret"), "vol/absin": filepath.Join(vol, "data/file"),
		"vol/esc": "../outside/secret", "vol/data/deep": "../../outside/secret",
		"vol/loop1": "loop2", "vol/loop2": "loop1", "vol/self": ".",
	}
	for l, target := range links {
		if err := os.Symlink(target, filepath.Join(base, l)); err != nil {
			t.Fatal(err)
		}
	}
	return base, vol
}

type resolver func(root, rel string) (string, error)

// viaOpen resolves with Open and reads the result through its proc path.
func viaOpen(root, rel string) (string, error) {
	p, err := Open(root, rel)
	if err != nil {
		return "", err
	}
	defer p.Close()
	return content(p.ProcPath())
}

// viaWalk forces the fallback walk.
func viaWalk(root, rel string) (string, error) {
	r, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return "", err
	}
	defer r.Close()
	fd, err := walk(int(r.Fd()), root, rel)
	if err != nil {
		return "", err
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	return content("/proc/self/fd/" + strconv.Itoa(fd))
}

// content reads a regular file, or lists a directory, through path.
func content(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		ents, err := os.ReadDir(path)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return "dir:" + strings.Join(names, ","), err
	}
	b, err := os.ReadFile(path)
	return string(b), err
}

func TestResolve(t *testing.T) {
	base, vol := volume(t)
	tests := []struct {
		rel  string
		want string // content, or the error text
		err  error
	}{
		{"data/file", "inside", nil},
		{"rel", "inside", nil},
		{"dirlink/file", "inside", nil},
		{"dirlink", "dir:deep,file", nil},
		{"up", "inside", nil},
		{"chain", "inside", nil},
		{"self/self/rel", "inside", nil},
		{"data/../rel", "inside", nil},
		{"", "dir:", nil}, // the root itself; listing checked by prefix below
		{"abs", `symlink "abs" points to the absolute path`, ErrEscape},
		{"absin", `symlink "absin" points to the absolute path`, ErrEscape},
		{"esc", `symlink "esc" -> "../outside/secret" climbs above the root`, ErrEscape},
		{"data/deep", `symlink "data/deep" -> "../../outside/secret" climbs above the root`, ErrEscape},
		{"dirlink/deep", `symlink "data/deep" -> "../../outside/secret"`, ErrEscape},
		{"../outside/secret", `climbs above its root`, ErrEscape},
		{"data/../../outside/secret", `climbs above its root`, ErrEscape},
		{"loop1", "too many levels of symbolic links", unix.ELOOP},
		{"missing", "no such file", os.ErrNotExist},
		{"data/file/x", "not a directory", unix.ENOTDIR},
	}
	for name, resolve := range map[string]resolver{"open": viaOpen, "walk": viaWalk} {
		for _, tt := range tests {
			t.Run(name+"/"+tt.rel, func(t *testing.T) {
				got, err := resolve(vol, tt.rel)
				if tt.err == nil {
					if err != nil || (tt.rel != "" && got != tt.want) || (tt.rel == "" && !strings.HasPrefix(got, "dir:")) {
						t.Errorf("= %q, %v; want %q", got, err, tt.want)
					}
					return
				}
				if !errors.Is(err, tt.err) {
					t.Fatalf("= %q, %v; want %v", got, err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.want) || strings.Contains(got, "secret") {
					t.Errorf("error %q lacks %q", err, tt.want)
				}
				if tt.err == ErrEscape && !strings.Contains(err.Error(), vol) {
					t.Errorf("error %q does not name the root", err)
				}
			})
		}
	}
	if _, err := Open(vol, filepath.Join(base, "outside")); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open with an absolute path: %v, want ErrInvalid", err)
	}
	if _, err := Open("vol", "rel"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open with a relative root: %v, want ErrInvalid", err)
	}
}

// TestLoneSource: a path opened beneath its parent directory may be a
// link to a sibling, not further (a mount point's rule; sources follow the
// host's links: TestOpenHost).
func TestLoneSource(t *testing.T) {
	base, vol := volume(t)
	p, err := Open(vol, "rel")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got, err := p.Resolved(); err != nil || got != filepath.Join(vol, "data/file") {
		t.Errorf("Resolved = %q, %v", got, err)
	}
	if fi, err := p.Stat(); err != nil || fi.Size() != int64(len("inside")) {
		t.Errorf("Stat = %v, %v", fi, err)
	}
	if _, err := Open(base, "vol/abs"); !errors.Is(err, ErrEscape) {
		t.Errorf("absolute link out of the parent: %v, want ErrEscape", err)
	}
}

// TestIntegrationBindFromProcPath: the caller can bind-mount from the
// resolved O_PATH file, and gets what was resolved even if the link is
// swapped to point outside afterwards. The mount must happen in the mount
// namespace the path was opened in: the kernel refuses a bind source from
// another one.
func TestIntegrationBindFromProcPath(t *testing.T) {
	testutil.RequireRoot(t)
	base, vol := volume(t)
	target := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	inMountNS(t, func() {
		p, err := Open(vol, "dirlink")
		if err != nil {
			t.Error(err)
			return
		}
		defer p.Close()
		link := filepath.Join(vol, "dirlink")
		if err := os.Remove(link); err != nil {
			t.Error(err)
			return
		}
		if err := os.Symlink(filepath.Join(base, "outside"), link); err != nil {
			t.Error(err)
			return
		}
		if err := unix.Mount(p.ProcPath(), target, "", unix.MS_BIND, ""); err != nil {
			t.Errorf("bind mount from %s: %v", p.ProcPath(), err)
			return
		}
		if got, err := content(target); err != nil || got != "dir:deep,file" {
			t.Errorf("mounted %q, %v; want the data directory", got, err)
		}
	})
}
