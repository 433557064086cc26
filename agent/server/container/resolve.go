package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// maxSymlinks bounds the links followed in one resolution, as the kernel's
// own limit (40) does.
const maxSymlinks = 40

// resolveInRoot returns the guest path that p, a path in the container,
// names under root. It walks p one component at a time with Lstat, so no
// symlink is ever followed by the kernel: a link's target is read and
// spliced into the walk, an absolute target starting again at root (as the
// container will see it once root is its "/"). It fails with ErrEscapesRoot
// when a ".." — written in p or in a relative link target — would climb
// above root, and with ELOOP after maxSymlinks links. Components that do not
// exist are kept lexically; the caller creates them. Errors do not repeat
// p: callers name it.
//
// The result is only safe to use while nothing else changes the tree, which
// holds in the stage: the container's processes have not started yet.
func resolveInRoot(root, p string) (string, error) {
	var (
		resolved []string // components below root: no links, no dots
		pending  = splitPath(p)
		links    int
		lastLink string // the last link followed, to name it in errors
	)
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(resolved) == 0 && lastLink != "" {
				return "", fmt.Errorf("through symlink %s: %w", lastLink, ErrEscapesRoot)
			}
			if len(resolved) == 0 {
				return "", ErrEscapesRoot
			}
			resolved = resolved[:len(resolved)-1]
			continue
		}
		host := filepath.Join(root, filepath.Join(resolved...), c)
		fi, err := os.Lstat(host)
		if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Mode()&fs.ModeSymlink == 0 {
			resolved = append(resolved, c)
			continue
		}
		if err != nil {
			return "", err
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("more than %d symlinks: %w", maxSymlinks, syscall.ELOOP)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		lastLink = "/" + filepath.Join(filepath.Join(resolved...), c) + " -> " + target
		if filepath.IsAbs(target) {
			resolved = resolved[:0]
		}
		pending = append(splitPath(target), pending...)
	}
	return filepath.Join(root, filepath.Join(resolved...)), nil
}

// lexicallyEscapes reports whether p, a path in the container, climbs above
// its root through "..", without looking at the file system.
func lexicallyEscapes(p string) bool {
	depth := 0
	for _, c := range splitPath(p) {
		switch c {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

func splitPath(p string) []string { return strings.Split(p, "/") }
