package initramfs

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/cavaliergopher/cpio"
)

// Write writes entries as a gzip-compressed newc cpio archive (gzip level
// BestCompression). Missing parent directories are added with mode 0755.
func Write(w io.Writer, entries []Entry) error {
	all, err := normalize(entries)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	// The zero gzip.Header already has no name and a zero mtime.
	cw := cpio.NewWriter(zw)
	for _, e := range all {
		if err := writeEntry(cw, e); err != nil {
			return fmt.Errorf("writing %q: %w", e.Path, err)
		}
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("closing cpio archive: %w", err)
	}
	return zw.Close()
}

func writeEntry(cw *cpio.Writer, e Entry) error {
	h := &cpio.Header{Name: e.Path, Mode: cpioMode(e.Mode), Links: 1}
	var body []byte
	switch {
	case e.IsDir():
		h.Links = 2
	case e.IsSymlink():
		body = []byte(e.Link)
	default:
		body = e.Data
	}
	h.Size = int64(len(body))
	if err := cw.WriteHeader(h); err != nil {
		return err
	}
	_, err := cw.Write(body)
	return err
}

// modeBits pairs the io/fs and cpio spellings of the non-permission bits.
var modeBits = []struct {
	fs   fs.FileMode
	cpio cpio.FileMode
}{
	{fs.ModeDir, cpio.TypeDir},
	{fs.ModeSymlink, cpio.TypeSymlink},
	{fs.ModeSetuid, cpio.ModeSetuid},
	{fs.ModeSetgid, cpio.ModeSetgid},
	{fs.ModeSticky, cpio.ModeSticky},
}

func cpioMode(m fs.FileMode) cpio.FileMode {
	c := cpio.FileMode(m.Perm())
	if m&(fs.ModeDir|fs.ModeSymlink) == 0 {
		c |= cpio.TypeReg
	}
	for _, b := range modeBits {
		if m&b.fs != 0 {
			c |= b.cpio
		}
	}
	return c
}

func fsMode(c cpio.FileMode) fs.FileMode {
	m := fs.FileMode(c.Perm())
	for _, b := range modeBits {
		isType := b.cpio&cpio.ModeType != 0
		if (isType && c&cpio.ModeType == b.cpio) || (!isType && c&b.cpio != 0) {
			m |= b.fs
		}
	}
	return m
}

// Read reads a gzip-compressed newc cpio archive back into entries, in
// archive order.
func Read(r io.Reader) ([]Entry, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("reading gzip header: %w", err)
	}
	cr := cpio.NewReader(zr)
	var out []Entry
	for {
		h, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading cpio header: %w", err)
		}
		e := Entry{Path: h.Name, Mode: fsMode(h.Mode), Link: h.Linkname}
		switch h.Mode & cpio.ModeType {
		case cpio.TypeDir, cpio.TypeSymlink:
		case cpio.TypeReg:
			if e.Data, err = io.ReadAll(cr); err != nil {
				return nil, fmt.Errorf("reading %q: %w", h.Name, err)
			}
		default:
			return nil, fmt.Errorf("%w: %q has cpio mode %v", ErrBadEntry, h.Name, h.Mode)
		}
		out = append(out, e)
	}
}

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
}
