package vmlinux

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/kite-vm/kite/guest/internal/bcj"
	"github.com/ulikunitz/xz/lzma"
)

// The xz container (https://tukaani.org/xz/xz-file-format.txt) is parsed here
// rather than by the xz library because Linux kernels use the x86 BCJ filter,
// which that library rejects; the LZMA2 data inside is still its job.

const (
	xzMagic        = "\xfd7zXZ\x00"
	filterX86      = 0x04
	filterLZMA2    = 0x21
	checkNone      = 0x00
	checkCRC32     = 0x01
	checkCRC64     = 0x04
	checkSHA256    = 0x0A
	blockHasCSize  = 0x40
	blockHasUSize  = 0x80
	blockReserved  = 0x3C
	streamHdrLen   = 12
	maxFilterCount = 4
)

var crc64Table = crc64.MakeTable(crc64.ECMA)

// filterChain is what a block header declares: an optional x86 BCJ filter
// (with its start offset) in front of LZMA2.
type filterChain struct {
	x86      bool
	x86Start uint32
	dictCap  int
}

// decodeXZ decodes the first xz stream in data; anything after the stream's
// blocks (the index, the footer, and the 4-byte size Linux appends) is
// ignored. Every block's integrity check is verified.
func decodeXZ(data []byte, limit int64) ([]byte, error) {
	if len(data) < streamHdrLen || string(data[:6]) != xzMagic {
		return nil, fmt.Errorf("%w: not an xz stream", ErrCorrupt)
	}
	if crc32.ChecksumIEEE(data[6:8]) != binary.LittleEndian.Uint32(data[8:12]) || data[6] != 0 {
		return nil, fmt.Errorf("%w: bad xz stream header", ErrCorrupt)
	}
	check := data[7] & 0x0F
	r := bytes.NewReader(data[streamHdrLen:])
	var out []byte
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("%w: xz stream ends before its index", ErrCorrupt)
		}
		if b == 0 { // index indicator: no more blocks
			return out, nil
		}
		if err := r.UnreadByte(); err != nil {
			return nil, err
		}
		if out, err = decodeBlock(r, check, out, limit); err != nil {
			return nil, err
		}
	}
}

// blockHeader is what a block header declares; sizes are -1 when absent.
type blockHeader struct {
	filters filterChain
	csize   int64
	usize   int64
}

// decodeBlock decodes one block at r's position and appends it to out.
func decodeBlock(r *bytes.Reader, check byte, out []byte, limit int64) ([]byte, error) {
	start := offset(r)
	bh, err := readBlockHeader(r)
	if err != nil {
		return nil, err
	}
	dataStart := offset(r)
	// The dictionary is allocated up front; it never needs to exceed the
	// output, so a hostile header cannot make it larger than limit.
	lz, err := lzma.Reader2Config{DictCap: int(min(int64(bh.filters.dictCap), limit))}.NewReader2(r)
	if err != nil {
		return nil, fmt.Errorf("%w: lzma2: %w", ErrCorrupt, err)
	}
	base := len(out)
	buf := bytes.NewBuffer(out)
	if bh.usize > 0 && bh.usize <= limit {
		buf.Grow(int(bh.usize))
	}
	n, err := io.Copy(buf, io.LimitReader(lz, limit-int64(base)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: lzma2: %w", ErrCorrupt, err)
	}
	if int64(base)+n > limit {
		return nil, fmt.Errorf("%w: decompressed kernel exceeds %d bytes", ErrCorrupt, limit)
	}
	out = buf.Bytes()
	block := out[base:]
	if bh.usize >= 0 && int64(len(block)) != bh.usize {
		return nil, fmt.Errorf("%w: block holds %d bytes, its header says %d", ErrCorrupt, len(block), bh.usize)
	}
	if csize := offset(r) - dataStart; bh.csize >= 0 && csize != bh.csize {
		return nil, fmt.Errorf("%w: block has %d compressed bytes, its header says %d", ErrCorrupt, csize, bh.csize)
	}
	if bh.filters.x86 {
		bcj.X86(block, bh.filters.x86Start, false)
	}
	// Block padding brings header+data to a multiple of four.
	if pad := (4 - (offset(r)-start)%4) % 4; pad > 0 {
		if _, err := r.Seek(pad, io.SeekCurrent); err != nil {
			return nil, err
		}
	}
	return out, verifyCheck(r, check, block)
}

func offset(r *bytes.Reader) int64 { return r.Size() - int64(r.Len()) }

// readBlockHeader parses the block header at r's position.
func readBlockHeader(r *bytes.Reader) (blockHeader, error) {
	bh := blockHeader{csize: -1, usize: -1}
	sizeByte, _ := r.ReadByte()
	hdr := make([]byte, (int(sizeByte)+1)*4)
	hdr[0] = sizeByte
	if _, err := io.ReadFull(r, hdr[1:]); err != nil {
		return bh, fmt.Errorf("%w: truncated block header", ErrCorrupt)
	}
	body := hdr[:len(hdr)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(hdr[len(hdr)-4:]) {
		return bh, fmt.Errorf("%w: block header checksum mismatch", ErrCorrupt)
	}
	flags := body[1]
	if flags&blockReserved != 0 {
		return bh, fmt.Errorf("%w: reserved block flags %#02x", ErrCorrupt, flags)
	}
	p := bytes.NewReader(body[2:])
	for _, f := range []struct {
		bit byte
		dst *int64
	}{{blockHasCSize, &bh.csize}, {blockHasUSize, &bh.usize}} {
		if flags&f.bit == 0 {
			continue
		}
		v, err := binary.ReadUvarint(p)
		if err != nil || v > 1<<62 {
			return bh, fmt.Errorf("%w: bad block size field", ErrCorrupt)
		}
		*f.dst = int64(v)
	}
	var err error
	bh.filters, err = readFilters(p, int(flags&0x03)+1)
	return bh, err
}

// readFilters parses n filter flags; only [x86] + LZMA2 is supported.
func readFilters(p *bytes.Reader, n int) (filterChain, error) {
	var fc filterChain
	for i := 0; i < n && i < maxFilterCount; i++ {
		id, err1 := binary.ReadUvarint(p)
		size, err2 := binary.ReadUvarint(p)
		if err := errors.Join(err1, err2); err != nil || size > uint64(p.Len()) {
			return fc, fmt.Errorf("%w: bad filter flags", ErrCorrupt)
		}
		props := make([]byte, size)
		_, _ = io.ReadFull(p, props)
		last := i == n-1
		switch {
		case id == filterX86 && !last && !fc.x86 && (size == 0 || size == 4):
			fc.x86 = true
			if size == 4 {
				fc.x86Start = binary.LittleEndian.Uint32(props)
			}
		case id == filterLZMA2 && last && size == 1:
			dc, err := dictCap(props[0])
			if err != nil {
				return fc, err
			}
			fc.dictCap = dc
			return fc, nil
		default:
			return fc, fmt.Errorf("%w: xz filter %#x (only x86 BCJ + LZMA2 are supported)", ErrUnsupported, id)
		}
	}
	return fc, fmt.Errorf("%w: xz filter chain does not end with LZMA2", ErrUnsupported)
}

// dictCap decodes the LZMA2 dictionary-size property byte.
func dictCap(b byte) (int, error) {
	if b > 40 {
		return 0, fmt.Errorf("%w: lzma2 dictionary property %d", ErrCorrupt, b)
	}
	if b == 40 {
		return lzma.MaxDictCap, nil
	}
	c := (2 | int(b&1)) << (b/2 + 11)
	return max(c, lzma.MinDictCap), nil
}

// verifyCheck reads the block's check field and compares it with data.
func verifyCheck(r *bytes.Reader, check byte, data []byte) error {
	var h hash.Hash
	switch check {
	case checkNone:
		return nil
	case checkCRC32:
		h = crc32.NewIEEE()
	case checkCRC64:
		h = crc64.New(crc64Table)
	case checkSHA256:
		h = sha256.New()
	default:
		return fmt.Errorf("%w: xz check type %#x", ErrUnsupported, check)
	}
	h.Write(data)
	sum := h.Sum(nil)
	// crc32 and crc64 are stored little-endian; hash.Hash sums are big-endian.
	if check != checkSHA256 {
		for i, j := 0, len(sum)-1; i < j; i, j = i+1, j-1 {
			sum[i], sum[j] = sum[j], sum[i]
		}
	}
	stored := make([]byte, len(sum))
	if _, err := io.ReadFull(r, stored); err != nil {
		return fmt.Errorf("%w: truncated block check", ErrCorrupt)
	}
	if !bytes.Equal(stored, sum) {
		return fmt.Errorf("%w: xz block check mismatch (%x, computed %x)", ErrCorrupt, stored, sum)
	}
	return nil
}
