package nvdimm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Layout of the image: the PFN info block sits 4 KiB into a 2 MiB prefix
// (the kernel keeps the first 4 KiB for a label or BTT and, in RAM mode,
// wants data no lower than 8 KiB); the file system starts at the prefix's
// end, which keeps it aligned to the 2 MiB huge-page size DAX maps with.
const (
	PrefixSize = 2 << 20 // bytes before the file system
	InfoOffset = 4096    // where the PFN info block starts
	InfoSize   = 4096    // size of the PFN info block
	Align      = 2 << 20 // alignment of the data area and of the image size
	pageSize   = 4096
)

// ErrBadInfo means a block is not a valid NVDIMM_PFN_INFO block.
var ErrBadInfo = errors.New("invalid NVDIMM PFN info block")

var pfnSignature = [16]byte{'N', 'V', 'D', 'I', 'M', 'M', '_', 'P', 'F', 'N', '_', 'I', 'N', 'F', 'O', 0}

// Offsets of the fields of the kernel's struct nd_pfn_sb (drivers/nvdimm/pfn.h,
// version 1.4); all integers are little endian.
const (
	offSignature      = 0
	offUUID           = 16
	offParentUUID     = 32
	offFlags          = 48
	offVersionMajor   = 52
	offVersionMinor   = 54
	offDataOff        = 56
	offNPFNs          = 64
	offMode           = 72
	offStartPad       = 76
	offEndTrunc       = 80
	offAlign          = 84
	offPageSize       = 88
	offPageStructSize = 92
	offChecksum       = InfoSize - 8
)

const (
	versionMajor   = 1
	versionMinor   = 4 // the first with page_size and page_struct_size
	modeRAM        = 1 // PFN_MODE_RAM: struct pages live in guest RAM, not on the DIMM
	pageStructSize = 64
)

// PFNInfo is what varies between images; every other field is fixed.
type PFNInfo struct {
	// UUID names the PFN device. The parent UUID stays zero: QEMU's DIMMs
	// have no label area, so their namespace has the null UUID.
	UUID [16]byte
	// DataSize is the size of the file system after the prefix, a multiple
	// of Align.
	DataSize int64
}

// Validate checks the sizes the kernel would otherwise reject at boot.
func (p PFNInfo) Validate() error {
	if p.DataSize <= 0 || p.DataSize%Align != 0 {
		return fmt.Errorf("%w: data size %d is not a positive multiple of %d", ErrBadInfo, p.DataSize, Align)
	}
	return nil
}

// MarshalBinary encodes the 4 KiB info block, checksum included.
func (p PFNInfo) MarshalBinary() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, InfoSize)
	le := binary.LittleEndian
	copy(b[offSignature:], pfnSignature[:])
	copy(b[offUUID:], p.UUID[:])
	le.PutUint16(b[offVersionMajor:], versionMajor)
	le.PutUint16(b[offVersionMinor:], versionMinor)
	le.PutUint64(b[offDataOff:], PrefixSize)
	le.PutUint64(b[offNPFNs:], uint64(p.DataSize/pageSize))
	le.PutUint32(b[offMode:], modeRAM)
	le.PutUint32(b[offAlign:], Align)
	le.PutUint32(b[offPageSize:], pageSize)
	le.PutUint16(b[offPageStructSize:], pageStructSize)
	le.PutUint64(b[offChecksum:], Fletcher64(b))
	return b, nil
}

// ParsePFNInfo decodes and checks an info block as written by MarshalBinary:
// signature, checksum and the fixed fields Kite relies on.
func ParsePFNInfo(b []byte) (PFNInfo, error) {
	if len(b) != InfoSize {
		return PFNInfo{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadInfo, len(b), InfoSize)
	}
	if !bytes.Equal(b[offSignature:offSignature+16], pfnSignature[:]) {
		return PFNInfo{}, fmt.Errorf("%w: no NVDIMM_PFN_INFO signature", ErrBadInfo)
	}
	le := binary.LittleEndian
	tmp := bytes.Clone(b)
	le.PutUint64(tmp[offChecksum:], 0)
	if got, want := le.Uint64(b[offChecksum:]), Fletcher64(tmp); got != want {
		return PFNInfo{}, fmt.Errorf("%w: checksum %#x, computed %#x", ErrBadInfo, got, want)
	}
	if off := le.Uint64(b[offDataOff:]); off != PrefixSize {
		return PFNInfo{}, fmt.Errorf("%w: data offset %d, want %d", ErrBadInfo, off, PrefixSize)
	}
	var p PFNInfo
	copy(p.UUID[:], b[offUUID:])
	p.DataSize = int64(le.Uint64(b[offNPFNs:])) * pageSize
	return p, p.Validate()
}

// Fletcher64 is the kernel's nd_fletcher64 over little-endian 32-bit words:
// a 32-bit running sum in the low half and the (truncated) sum of sums in
// the high half. A trailing partial word is ignored, as in the kernel.
func Fletcher64(b []byte) uint64 {
	var lo uint32
	var hi uint64
	for i := 0; i+4 <= len(b); i += 4 {
		lo += binary.LittleEndian.Uint32(b[i:])
		hi += uint64(lo)
	}
	return hi<<32 | uint64(lo)
}

// WritePFNInfo writes the info block into w at InfoOffset; the rest of the
// prefix is left as is (zero in a fresh sparse file).
func WritePFNInfo(w io.WriterAt, p PFNInfo) error {
	b, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	if _, err := w.WriteAt(b, InfoOffset); err != nil {
		return fmt.Errorf("writing the PFN info block: %w", err)
	}
	return nil
}
