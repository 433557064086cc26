package deb

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

const (
	arMagic     = "!<arch>\n"
	arHeaderLen = 60
)

// member is one file of an ar archive.
type member struct {
	name   string
	offset int64
	size   int64
}

// readMembers lists the members of the ar archive in r (size bytes long).
func readMembers(r io.ReaderAt, size int64) ([]member, error) {
	magic := make([]byte, len(arMagic))
	if _, err := r.ReadAt(magic, 0); err != nil || string(magic) != arMagic {
		return nil, fmt.Errorf("%w: no ar magic", ErrFormat)
	}
	var members []member
	hdr := make([]byte, arHeaderLen)
	for off := int64(len(arMagic)); off < size; {
		if _, err := r.ReadAt(hdr, off); err != nil {
			return nil, fmt.Errorf("%w: truncated ar header at %d", ErrFormat, off)
		}
		if string(hdr[58:60]) != "`\n" {
			return nil, fmt.Errorf("%w: bad ar header at %d", ErrFormat, off)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil || n < 0 || off+arHeaderLen+n > size {
			return nil, fmt.Errorf("%w: bad ar member size %q at %d", ErrFormat, hdr[48:58], off)
		}
		name := strings.TrimSuffix(strings.TrimSpace(string(hdr[0:16])), "/")
		members = append(members, member{name: name, offset: off + arHeaderLen, size: n})
		off += arHeaderLen + n + n%2
	}
	return members, nil
}
