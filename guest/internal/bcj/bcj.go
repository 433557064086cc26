// Package bcj implements the x86 BCJ (branch/call/jump) filter of the xz
// format. Linux compresses x86 kernels with `xz --x86 --lzma2`, and the xz
// library Kite uses decodes only LZMA2, so the filter lives here; it is a port
// of the reference implementation (liblzma simple/x86.c), which both encodes
// and decodes with the same state machine.
package bcj

// maskToAllowed and maskToBitNumber are the reference filter's lookup tables,
// indexed by the previous-E8/E9 mask shifted right by one.
var (
	maskToAllowed   = [8]bool{true, true, true, false, true, false, false, false}
	maskToBitNumber = [8]uint32{0, 1, 2, 2, 3, 3, 3, 3}
)

// X86 converts, in place, the rel32 operands of x86 CALL (E8) and JMP (E9)
// instructions in buf between relative form and the absolute form that
// compresses better: encode turns relative into absolute, decode the reverse.
// pos is the stream offset of buf[0] (the filter's start offset, 0 for a new
// xz block). buf must hold the whole block: the final four bytes are never
// converted, as in xz at the end of a stream. It returns the number of bytes
// the filter walked over.
func X86(buf []byte, pos uint32, encode bool) int {
	if len(buf) < 5 {
		return 0
	}
	var prevMask uint32
	prevPos := pos - 5
	limit := len(buf) - 5
	i := 0
	for i <= limit {
		b := buf[i]
		if b != 0xE8 && b != 0xE9 {
			i++
			continue
		}
		offset := pos + uint32(i) - prevPos
		prevPos = pos + uint32(i)
		if offset > 5 {
			prevMask = 0
		} else {
			for k := uint32(0); k < offset; k++ {
				prevMask &= 0x77
				prevMask <<= 1
			}
		}
		b = buf[i+4]
		if !msByte(b) || !maskToAllowed[(prevMask>>1)&7] || prevMask>>1 >= 0x10 {
			i++
			prevMask |= 1
			if msByte(b) {
				prevMask |= 0x10
			}
			continue
		}
		dest := convert(buf[i+1:i+5], pos+uint32(i)+5, prevMask, encode)
		buf[i+4] = ^byte(((dest >> 24) & 1) - 1)
		buf[i+3] = byte(dest >> 16)
		buf[i+2] = byte(dest >> 8)
		buf[i+1] = byte(dest)
		i += 5
		prevMask = 0
	}
	return i
}

// convert computes the new operand for the instruction ending at next (its
// stream offset plus 5).
func convert(op []byte, next, prevMask uint32, encode bool) uint32 {
	src := uint32(op[3])<<24 | uint32(op[2])<<16 | uint32(op[1])<<8 | uint32(op[0])
	for {
		var dest uint32
		if encode {
			dest = src + next
		} else {
			dest = src - next
		}
		if prevMask == 0 {
			return dest
		}
		n := maskToBitNumber[prevMask>>1]
		if !msByte(byte(dest >> (24 - n*8))) {
			return dest
		}
		src = dest ^ (1<<(32-n*8) - 1)
	}
}

// msByte reports whether b can be the most significant byte of a near
// branch displacement (the target is within ±16 MiB).
func msByte(b byte) bool { return b == 0 || b == 0xFF }
