package bcj

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestX86KnownVectors(t *testing.T) {
	tests := []struct {
		name    string
		pos     uint32
		in, enc []byte
	}{
		{
			name: "call +0 at offset 0 becomes absolute 5",
			in:   []byte{0xE8, 0, 0, 0, 0, 0x90},
			enc:  []byte{0xE8, 5, 0, 0, 0, 0x90},
		},
		{
			name: "stream offset is added",
			pos:  0x1000,
			in:   []byte{0xE9, 0x10, 0, 0, 0, 0x90},
			enc:  []byte{0xE9, 0x15, 0x10, 0, 0, 0x90},
		},
		{
			name: "backward jump stays sign-extended",
			in:   []byte{0x90, 0xE8, 0xF0, 0xFF, 0xFF, 0xFF, 0x90},
			enc:  []byte{0x90, 0xE8, 0xF6, 0xFF, 0xFF, 0xFF, 0x90},
		},
		{
			name: "far operand (MSB not 00/FF) untouched",
			in:   []byte{0xE8, 1, 2, 3, 4, 0x90},
			enc:  []byte{0xE8, 1, 2, 3, 4, 0x90},
		},
		{
			name: "last four bytes never converted",
			in:   []byte{0x90, 0x90, 0xE8, 0, 0, 0},
			enc:  []byte{0x90, 0x90, 0xE8, 0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := append([]byte(nil), tt.in...)
			X86(buf, tt.pos, true)
			if diff := cmp.Diff(tt.enc, buf); diff != "" {
				t.Fatalf("encode mismatch (-want +got):\n%s", diff)
			}
			X86(buf, tt.pos, false)
			if diff := cmp.Diff(tt.in, buf); diff != "" {
				t.Errorf("decode mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestX86RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		buf := make([]byte, 1+rng.IntN(4096))
		for j := range buf {
			// Dense E8/E9 and 00/FF bytes reach every branch of the filter.
			switch rng.IntN(4) {
			case 0:
				buf[j] = 0xE8 + byte(rng.IntN(2))
			case 1:
				buf[j] = 0xFF * byte(rng.IntN(2))
			default:
				buf[j] = byte(rng.Uint32())
			}
		}
		orig := append([]byte(nil), buf...)
		pos := rng.Uint32()
		X86(buf, pos, true)
		X86(buf, pos, false)
		if !bytes.Equal(buf, orig) {
			t.Fatalf("case %d: round trip at pos %#x changed %d bytes", i, pos, len(buf))
		}
	}
}
