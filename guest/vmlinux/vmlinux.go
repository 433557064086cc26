package vmlinux

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrNotBzImage means the input lacks a valid x86 boot-protocol header.
	ErrNotBzImage = errors.New("not a bzImage")
	// ErrUnsupported means the payload uses a compression or xz feature this
	// package does not decode.
	ErrUnsupported = errors.New("unsupported kernel payload")
	// ErrCorrupt means the payload does not decode or fails its checks.
	ErrCorrupt = errors.New("corrupt kernel payload")
	// ErrNotBootable means the decoded payload is not an x86-64 ELF that
	// QEMU can boot through PVH.
	ErrNotBootable = errors.New("vmlinux not bootable through PVH")
)

// Compression names a payload format.
type Compression string

// The payload formats Extract decodes.
const (
	Gzip Compression = "gzip"
	XZ   Compression = "xz"
)

// maxKernelSize bounds the decompressed kernel so a bad input cannot exhaust
// memory; distribution kernels are around 64 MiB.
const maxKernelSize = 512 << 20

// Image is an extracted kernel.
type Image struct {
	Header      Header
	Compression Compression
	ELF         []byte // the uncompressed vmlinux
	// PVHEntry is the 32-bit physical entry point from the ELF note QEMU
	// looks for (XEN_ELFNOTE_PHYS32_ENTRY).
	PVHEntry uint64
}

// Extract decodes the vmlinux inside a bzImage and checks it can boot
// through PVH.
func Extract(bzImage []byte) (*Image, error) {
	h, err := ParseHeader(bzImage)
	if err != nil {
		return nil, err
	}
	payload := h.Payload(bzImage)
	c, err := detect(payload)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch c {
	case Gzip:
		out, err = decodeGzip(payload, maxKernelSize)
	case XZ:
		out, err = decodeXZ(payload, maxKernelSize)
	}
	if err != nil {
		return nil, fmt.Errorf("decompressing %s payload: %w", c, err)
	}
	entry, err := checkELF(out)
	if err != nil {
		return nil, err
	}
	return &Image{Header: h, Compression: c, ELF: out, PVHEntry: entry}, nil
}

// detect names the payload format by its magic.
func detect(p []byte) (Compression, error) {
	magics := []struct {
		magic string
		name  string
	}{
		{"\x1f\x8b", string(Gzip)},
		{xzMagic, string(XZ)},
		{"BZh", "bzip2"},
		{"\x5d\x00\x00", "lzma"},
		{"\x89LZO", "lzo"},
		{"\x02\x21\x4c\x18", "lz4"},
		{"\x28\xb5\x2f\xfd", "zstd"},
	}
	for _, m := range magics {
		if !bytes.HasPrefix(p, []byte(m.magic)) {
			continue
		}
		if c := Compression(m.name); c == Gzip || c == XZ {
			return c, nil
		}
		return "", fmt.Errorf("%w: %s-compressed kernel (gzip and xz are supported)", ErrUnsupported, m.name)
	}
	return "", fmt.Errorf("%w: unknown payload magic % x", ErrUnsupported, p[:min(len(p), 6)])
}

// decodeGzip decodes the first gzip member; Linux appends the uncompressed
// size after it, which must not be read as a second member.
func decodeGzip(p []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(p))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	zr.Multistream(false)
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("%w: decompressed kernel exceeds %d bytes", ErrCorrupt, limit)
	}
	return out, nil
}
