package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// buildTree makes a root with dirs (trailing "/"), files and symlinks
// ("name -> target").
func buildTree(t *testing.T, entries ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, e := range entries {
		name, target, isLink := strings.Cut(e, " -> ")
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case isLink:
			err = os.Symlink(target, p)
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		default:
			err = os.WriteFile(p, nil, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveInRoot(t *testing.T) {
	root := buildTree(t,
		"a/b/", "etc/", "run/", "usr/lib/", "file",
		"var/run -> /run",
		"abs -> /etc",
		"lib -> usr/lib",
		"a/sib -> ../etc",
		"a/up -> ../../etc",
		"a/upabs -> /../etc",
		"a/dotdot -> ../..",
		"toroot -> /",
		"chain1 -> /chain2", "chain2 -> chain3", "chain3 -> /a/b",
		"loop1 -> loop2", "loop2 -> loop1",
		"self -> self",
		"dangling -> /nowhere/deeper",
		"linkdir -> a/b",
		"viafile -> file/x",
	)
	tests := []struct {
		path    string
		want    string // relative to root; "" when an error is wanted
		wantErr error
	}{
		{"/", ".", nil},
		{"", ".", nil},
		{"/a/b", "a/b", nil},
		{"a/b", "a/b", nil},
		{"//a//./b/", "a/b", nil},
		{"/a/../etc", "etc", nil},
		{"/a/b/../../etc/passwd", "etc/passwd", nil},
		{"/missing/deeper", "missing/deeper", nil},
		{"/missing/../etc", "etc", nil},
		// Absolute links are rooted, as the container will see them.
		{"/var/run/secrets", "run/secrets", nil},
		{"/abs", "etc", nil},
		{"/abs/hosts", "etc/hosts", nil},
		{"/toroot", ".", nil},
		{"/toroot/etc", "etc", nil},
		{"/lib/x", "usr/lib/x", nil},
		{"/a/sib", "etc", nil},
		{"/chain1/c", "a/b/c", nil},
		{"/dangling", "nowhere/deeper", nil},
		{"/linkdir/../etc", "a/etc", nil}, // ".." after a link climbs from its target
		// Escapes.
		{"/..", "", ErrEscapesRoot},
		{"/../etc", "", ErrEscapesRoot},
		{"/a/../../etc", "", ErrEscapesRoot},
		{"/missing/../../etc", "", ErrEscapesRoot},
		{"/a/up", "", ErrEscapesRoot},
		{"/a/up/passwd", "", ErrEscapesRoot},
		{"/a/upabs", "", ErrEscapesRoot},
		{"/a/dotdot/x", "", ErrEscapesRoot},
		{"/abs/../../etc", "", ErrEscapesRoot},
		// Loops and non-directories.
		{"/loop1", "", syscall.ELOOP},
		{"/self/x", "", syscall.ELOOP},
		{"/file/x", "", syscall.ENOTDIR},
		{"/viafile", "", syscall.ENOTDIR},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := resolveInRoot(root, tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("resolveInRoot(%q) = %q, %v; want error %v", tt.path, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveInRoot(%q): %v", tt.path, err)
			}
			if want := filepath.Join(root, tt.want); got != want {
				t.Errorf("resolveInRoot(%q) = %q, want %q", tt.path, got, want)
			}
		})
	}
}

func TestResolveInRootNamesTheEscapingLink(t *testing.T) {
	root := buildTree(t, "data/", "data/etc -> ../../../etc")
	_, err := resolveInRoot(root, "/data/etc/conf")
	if !errors.Is(err, ErrEscapesRoot) || !strings.Contains(err.Error(), "/data/etc -> ../../../etc") {
		t.Errorf("error = %v, want ErrEscapesRoot naming the link /data/etc", err)
	}
}

func TestResolveInRootSymlinkBudget(t *testing.T) {
	for _, tt := range []struct {
		links   int
		wantErr bool
	}{{maxSymlinks, false}, {maxSymlinks + 1, true}} {
		t.Run(fmt.Sprint(tt.links), func(t *testing.T) {
			var entries []string
			for i := 0; i < tt.links-1; i++ {
				entries = append(entries, fmt.Sprintf("l%d -> l%d", i, i+1))
			}
			entries = append(entries, fmt.Sprintf("l%d -> /end", tt.links-1), "end/")
			root := buildTree(t, entries...)
			got, err := resolveInRoot(root, "/l0")
			if tt.wantErr {
				if !errors.Is(err, syscall.ELOOP) {
					t.Errorf("%d links: got %q, %v; want ELOOP", tt.links, got, err)
				}
				return
			}
			if err != nil || got != filepath.Join(root, "end") {
				t.Errorf("%d links: got %q, %v; want %q", tt.links, got, err, filepath.Join(root, "end"))
			}
		})
	}
}

func TestResolveInRootNeverLeavesRoot(t *testing.T) {
	// Whatever the path, a successful result lies under root.
	root := buildTree(t, "a/b/", "etc/", "x -> ../a", "y -> /..", "z -> ./a/../..", "w -> /a/b/../../etc")
	parts := []string{"a", "b", "..", ".", "x", "y", "z", "w", "etc", "missing", ""}
	var walk func(prefix string, depth int)
	walk = func(prefix string, depth int) {
		if depth == 0 {
			return
		}
		for _, p := range parts {
			path := prefix + "/" + p
			got, err := resolveInRoot(root, path)
			if err == nil && got != root && !strings.HasPrefix(got, root+"/") {
				t.Errorf("resolveInRoot(%q) = %q, outside the root", path, got)
			}
			walk(path, depth-1)
		}
	}
	walk("", 4)
}

func TestLexicallyEscapes(t *testing.T) {
	for p, want := range map[string]bool{
		"/": false, "/a/..": false, "/a/../b": false, "/..": true, "/a/../..": true,
		"/a/b/../../../c": true, "/./..": true, "/a/./../b/..": false,
	} {
		if got := lexicallyEscapes(p); got != want {
			t.Errorf("lexicallyEscapes(%q) = %v, want %v", p, got, want)
		}
	}
}
