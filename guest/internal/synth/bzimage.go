package synth

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
)

// BzImage wraps a compressed kernel payload the way Linux's x86 build does: a
// boot sector and setup sectors carrying the boot-protocol header, then the
// protected-mode code with the payload inside it, followed by the 4-byte
// little-endian uncompressed size that the kernel's build appends.
func BzImage(payload []byte, uncompressedSize int) []byte {
	const setupSects = 3
	const payloadOffset = 0x1c0 // arbitrary, as in real images
	img := make([]byte, (setupSects+1)*512+payloadOffset)
	img[0x1F1] = setupSects
	binary.LittleEndian.PutUint16(img[0x1FE:], 0xAA55)
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x206:], 0x020f)
	img[0x211] = 0x01 // LOADED_HIGH
	binary.LittleEndian.PutUint32(img[0x248:], payloadOffset)
	binary.LittleEndian.PutUint32(img[0x24C:], uint32(len(payload)+4))
	img = append(img, payload...)
	img = binary.LittleEndian.AppendUint32(img, uint32(uncompressedSize))
	return append(img, make([]byte, 128)...) // trailing code/padding
}

// Gzip compresses data as one gzip member.
func Gzip(data []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.Write(data)
	zw.Close()
	return b.Bytes()
}
