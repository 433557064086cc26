package synth

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"

	"github.com/kite-vm/kite/guest/internal/bcj"
	"github.com/ulikunitz/xz/lzma"
)

// XZ writes a complete single-block xz stream (header, block, index, footer)
// with a CRC32 check, LZMA2 with a 1 MiB dictionary and, when x86 is set, the
// x86 BCJ filter in front, like `xz --check=crc32 --x86 --lzma2`.
func XZ(data []byte, x86 bool) []byte {
	var out bytes.Buffer
	flags := []byte{0x00, 0x01} // check: CRC32
	out.WriteString("\xfd7zXZ\x00")
	out.Write(flags)
	out.Write(le32(crc32.ChecksumIEEE(flags)))

	filtered := append([]byte(nil), data...)
	hdr := []byte{0, 0x00} // size byte filled below; one filter
	if x86 {
		bcj.X86(filtered, 0, true)
		hdr[1] = 0x01 // two filters
		hdr = append(hdr, 0x04, 0x00)
	}
	hdr = append(hdr, 0x21, 0x01, 16) // LZMA2, dict prop 16 = 1 MiB
	for (len(hdr)+4)%4 != 0 {
		hdr = append(hdr, 0)
	}
	hdr[0] = byte((len(hdr)+4)/4 - 1)
	hdr = append(hdr, le32(crc32.ChecksumIEEE(hdr))...)

	var comp bytes.Buffer
	lw, _ := lzma.Writer2Config{DictCap: 1 << 20}.NewWriter2(&comp)
	lw.Write(filtered)
	lw.Close()

	out.Write(hdr)
	out.Write(comp.Bytes())
	unpadded := len(hdr) + comp.Len() + 4
	out.Write(make([]byte, (4-(len(hdr)+comp.Len())%4)%4))
	out.Write(le32(crc32.ChecksumIEEE(data)))

	index := []byte{0x00}
	index = binary.AppendUvarint(index, 1)
	index = binary.AppendUvarint(index, uint64(unpadded))
	index = binary.AppendUvarint(index, uint64(len(data)))
	for len(index)%4 != 0 {
		index = append(index, 0)
	}
	index = append(index, le32(crc32.ChecksumIEEE(index))...)
	out.Write(index)

	footer := le32(uint32(len(index)/4 - 1))
	footer = append(footer, flags...)
	out.Write(le32(crc32.ChecksumIEEE(footer)))
	out.Write(footer)
	out.WriteString("YZ")
	return out.Bytes()
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
