package vmlinux

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kite-vm/kite/guest/internal/synth"
)

func TestParseHeader(t *testing.T) {
	payload := []byte("\xfd7zXZ\x00 pretend payload")
	good := synth.BzImage(payload, 1000)
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	tests := []struct {
		name    string
		img     []byte
		want    Header
		wantErr error
	}{
		{
			name: "valid",
			img:  good,
			want: Header{Version: 0x020f, SetupSects: 3, PayloadOffset: 0x1c0, PayloadLength: uint32(len(payload) + 4)},
		},
		{
			name: "zero setup_sects means four",
			img:  mutate(func(b []byte) { b[0x1F1] = 0; binary.LittleEndian.PutUint32(b[0x248:], 0) }),
			want: Header{Version: 0x020f, SetupSects: 4, PayloadOffset: 0, PayloadLength: uint32(len(payload) + 4)},
		},
		{name: "short", img: good[:0x200], wantErr: ErrNotBzImage},
		{name: "no boot flag", img: mutate(func(b []byte) { b[0x1FE] = 0 }), wantErr: ErrNotBzImage},
		{name: "no HdrS", img: mutate(func(b []byte) { copy(b[0x202:], "HdrX") }), wantErr: ErrNotBzImage},
		{name: "protocol too old", img: mutate(func(b []byte) { binary.LittleEndian.PutUint16(b[0x206:], 0x0207) }), wantErr: ErrNotBzImage},
		{name: "payload past end", img: mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[0x24C:], 1<<20) }), wantErr: ErrNotBzImage},
		{name: "empty payload", img: mutate(func(b []byte) { binary.LittleEndian.PutUint32(b[0x24C:], 0) }), wantErr: ErrNotBzImage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.img)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseHeader() error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseHeader() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPayloadLocation(t *testing.T) {
	payload := []byte("\x1f\x8bsome gzip bytes")
	img := synth.BzImage(payload, 99)
	h, err := ParseHeader(img)
	if err != nil {
		t.Fatal(err)
	}
	got := h.Payload(img)
	want := binary.LittleEndian.AppendUint32(append([]byte(nil), payload...), 99)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Payload() mismatch (-want +got):\n%s", diff)
	}
}
