package initramfs

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

var (
	// ErrBadEntry means an entry has an invalid path or mode.
	ErrBadEntry = errors.New("invalid initramfs entry")
	// ErrDuplicate means two entries have the same path.
	ErrDuplicate = errors.New("duplicate initramfs entry")
)

// Entry is one file, directory or symbolic link of the archive.
type Entry struct {
	// Path is slash-separated; a leading "/" is optional ("bin/busybox" and
	// "/bin/busybox" are the same entry).
	Path string
	// Mode holds the permission bits plus fs.ModeDir or fs.ModeSymlink
	// (neither means a regular file); setuid, setgid and sticky are kept.
	Mode fs.FileMode
	Data []byte // contents of a regular file
	Link string // target of a symbolic link
}

// File returns a regular file entry.
func File(p string, perm fs.FileMode, data []byte) Entry {
	return Entry{Path: p, Mode: perm, Data: data}
}

// Dir returns a directory entry.
func Dir(p string, perm fs.FileMode) Entry {
	return Entry{Path: p, Mode: fs.ModeDir | perm}
}

// Symlink returns a symbolic link entry.
func Symlink(p, target string) Entry {
	return Entry{Path: p, Mode: fs.ModeSymlink | 0o777, Link: target}
}

// IsDir reports whether e is a directory.
func (e Entry) IsDir() bool { return e.Mode&fs.ModeDir != 0 }

// IsSymlink reports whether e is a symbolic link.
func (e Entry) IsSymlink() bool { return e.Mode&fs.ModeSymlink != 0 }

// clean returns the archive name of p: no leading slash, no "." or "..".
func clean(p string) (string, error) {
	c := strings.TrimPrefix(path.Clean("/"+p), "/")
	if c == "" || c != strings.TrimPrefix(p, "/") {
		return "", fmt.Errorf("%w: path %q is not clean and relative to the root", ErrBadEntry, p)
	}
	return c, nil
}

// normalize checks entries, cleans their paths, adds missing parent
// directories (0755) and sorts them so parents come first.
func normalize(entries []Entry) ([]Entry, error) {
	byPath := make(map[string]Entry, len(entries))
	for _, e := range entries {
		p, err := clean(e.Path)
		if err != nil {
			return nil, err
		}
		if e.Mode&fs.ModeType&^(fs.ModeDir|fs.ModeSymlink) != 0 || (e.IsDir() && e.IsSymlink()) {
			return nil, fmt.Errorf("%w: %q has unsupported mode %v", ErrBadEntry, p, e.Mode)
		}
		if e.IsSymlink() && e.Link == "" {
			return nil, fmt.Errorf("%w: symlink %q has no target", ErrBadEntry, p)
		}
		if _, dup := byPath[p]; dup {
			return nil, fmt.Errorf("%w: %q", ErrDuplicate, p)
		}
		e.Path = p
		byPath[p] = e
	}
	for p := range byPath {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			parent, ok := byPath[d]
			if !ok {
				byPath[d] = Dir(d, 0o755)
				continue
			}
			if !parent.IsDir() {
				return nil, fmt.Errorf("%w: %q is inside %q, which is not a directory", ErrBadEntry, p, d)
			}
		}
	}
	out := make([]Entry, 0, len(byPath))
	for _, e := range byPath {
		out = append(out, e)
	}
	sortEntries(out)
	return out, nil
}
