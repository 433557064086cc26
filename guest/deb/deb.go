package deb

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ulikunitz/xz"
)

// ErrFormat means a file is not a Debian binary package this package reads.
var ErrFormat = errors.New("not a readable Debian package")

// Control holds the fields of a package's control stanza that Kite uses.
type Control struct {
	Package      string
	Version      string
	Architecture string
}

// File is an open .deb.
type File struct {
	f       *os.File
	members []member
}

// Open opens the .deb at path and lists its members.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil {
		var ms []member
		if ms, err = readMembers(f, st.Size()); err == nil {
			return &File{f: f, members: ms}, nil
		}
	}
	f.Close()
	return nil, fmt.Errorf("opening %s: %w", path, err)
}

// Close closes the file.
func (d *File) Close() error { return d.f.Close() }

// Control reads the control stanza from control.tar.*.
func (d *File) Control() (Control, error) {
	var c Control
	found := false
	err := d.walk(context.Background(), "control.tar", func(h *tar.Header, r io.Reader) error {
		if h.Name != "control" {
			return nil
		}
		found = true
		b, err := io.ReadAll(r)
		c = parseControl(string(b))
		return err
	})
	if err != nil {
		return Control{}, err
	}
	if !found || c.Package == "" || c.Version == "" {
		return Control{}, fmt.Errorf("%w: no control stanza with Package and Version", ErrFormat)
	}
	return c, nil
}

// Walk calls fn for every entry of the data archive, in archive order, with
// the entry's name relative to the root ("boot/vmlinuz-...", no "./"). r reads
// the entry's contents and is valid only during the call.
func (d *File) Walk(ctx context.Context, fn func(h *tar.Header, r io.Reader) error) error {
	return d.walk(ctx, "data.tar", fn)
}

func (d *File) walk(ctx context.Context, prefix string, fn func(*tar.Header, io.Reader) error) error {
	m, ok := d.member(prefix)
	if !ok {
		return fmt.Errorf("%w: no %s.* member", ErrFormat, prefix)
	}
	zr, err := decompress(m.name, io.NewSectionReader(d.f, m.offset, m.size))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", m.name, err)
		}
		h.Name = strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")
		if err := fn(h, tr); err != nil {
			return err
		}
	}
}

func (d *File) member(prefix string) (member, bool) {
	for _, m := range d.members {
		if m.name == prefix || strings.HasPrefix(m.name, prefix+".") {
			return m, true
		}
	}
	return member{}, false
}

// decompress picks the decompressor from the member's file name.
func decompress(name string, r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	switch {
	case strings.HasSuffix(name, ".tar"):
		return br, nil
	case strings.HasSuffix(name, ".xz"):
		zr, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrFormat, name, err)
		}
		return zr, nil
	case strings.HasSuffix(name, ".gz"):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrFormat, name, err)
		}
		return zr, nil
	}
	return nil, fmt.Errorf("%w: member %s has an unsupported compression", ErrFormat, name)
}

// parseControl reads the fields of a control stanza (or an apt-cache show
// record) that Control holds.
func parseControl(s string) Control {
	var c Control
	for _, line := range strings.Split(s, "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, " ") {
			continue
		}
		value = strings.TrimSpace(value)
		switch key {
		case "Package":
			c.Package = value
		case "Version":
			c.Version = value
		case "Architecture":
			c.Architecture = value
		}
	}
	return c
}
