package vmlinux

import (
	"encoding/binary"
	"fmt"
)

// Offsets of the setup header fields, from the Linux x86 boot protocol
// (Documentation/arch/x86/boot.rst).
const (
	offSetupSects    = 0x1F1
	offBootFlag      = 0x1FE
	offHeaderMagic   = 0x202
	offVersion       = 0x206
	offPayloadOffset = 0x248
	offPayloadLength = 0x24C
	headerEnd        = 0x250

	bootFlag    = 0xAA55
	headerMagic = "HdrS"
	// minVersion is the first protocol with payload_offset/payload_length.
	minVersion = 0x0208
	sectorSize = 512
)

// Header holds the setup header fields needed to find the compressed kernel.
type Header struct {
	Version    uint16 // boot protocol version, e.g. 0x020f
	SetupSects int    // 512-byte setup sectors after the boot sector
	// PayloadOffset is relative to the protected-mode code, which starts at
	// (SetupSects+1)*512 in the file.
	PayloadOffset uint32
	PayloadLength uint32
}

// PayloadStart is the file offset of the compressed payload.
func (h Header) PayloadStart() int64 {
	return int64(h.SetupSects+1)*sectorSize + int64(h.PayloadOffset)
}

// ParseHeader reads and checks the setup header of a bzImage.
func ParseHeader(img []byte) (Header, error) {
	if len(img) < headerEnd {
		return Header{}, fmt.Errorf("%w: %d bytes is shorter than a setup header", ErrNotBzImage, len(img))
	}
	if got := binary.LittleEndian.Uint16(img[offBootFlag:]); got != bootFlag {
		return Header{}, fmt.Errorf("%w: boot flag %#04x, want %#04x", ErrNotBzImage, got, bootFlag)
	}
	if got := string(img[offHeaderMagic : offHeaderMagic+4]); got != headerMagic {
		return Header{}, fmt.Errorf("%w: header magic %q, want %q", ErrNotBzImage, got, headerMagic)
	}
	h := Header{
		Version:       binary.LittleEndian.Uint16(img[offVersion:]),
		SetupSects:    int(img[offSetupSects]),
		PayloadOffset: binary.LittleEndian.Uint32(img[offPayloadOffset:]),
		PayloadLength: binary.LittleEndian.Uint32(img[offPayloadLength:]),
	}
	if h.Version < minVersion {
		return Header{}, fmt.Errorf("%w: boot protocol %#04x predates payload fields (need %#04x)", ErrNotBzImage, h.Version, minVersion)
	}
	if h.SetupSects == 0 {
		h.SetupSects = 4 // the protocol's historical default
	}
	if end := h.PayloadStart() + int64(h.PayloadLength); h.PayloadLength == 0 || end > int64(len(img)) {
		return Header{}, fmt.Errorf("%w: payload [%d, +%d) outside the %d-byte image", ErrNotBzImage, h.PayloadStart(), h.PayloadLength, len(img))
	}
	return h, nil
}

// Payload returns the compressed payload of img as described by h.
func (h Header) Payload(img []byte) []byte {
	start := h.PayloadStart()
	return img[start : start+int64(h.PayloadLength)]
}
