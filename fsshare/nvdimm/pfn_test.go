package nvdimm

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestFletcher64KnownAnswers(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want uint64
	}{
		{"empty", nil, 0},
		// words 1, 2, 3: sums 1, 3, 6; sums of sums 1, 4, 10
		{"small words", []byte{1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0}, 10<<32 | 6},
		// little-endian words 0x04030201, 0x08070605
		{"byte order", []byte{1, 2, 3, 4, 5, 6, 7, 8}, 0x100D0A07_0C0A0806},
		// the low sum wraps at 32 bits; the high sum loses its bit 32 in the shift
		{"wrap", []byte{0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0}, 1},
		{"partial word ignored", []byte{1, 0, 0, 0, 9, 9}, 1<<32 | 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fletcher64(tt.in); got != tt.want {
				t.Errorf("Fletcher64 = %#x, want %#x", got, tt.want)
			}
		})
	}
}

var testInfo = PFNInfo{
	UUID:     [16]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x47, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
	DataSize: 64 << 20,
}

// wantHeader is struct nd_pfn_sb's first 94 bytes for testInfo, written out
// by hand from drivers/nvdimm/pfn.h.
const wantHeader = "4e5644494d4d5f50464e5f494e464f00" + // "NVDIMM_PFN_INFO\0"
	"11223344556647778899aabbccddeeff" + // uuid
	"00000000000000000000000000000000" + // parent_uuid
	"00000000" + "0100" + "0400" + // flags, version 1.4
	"0000200000000000" + // dataoff 2 MiB
	"0040000000000000" + // npfns 64 MiB / 4 KiB = 0x4000
	"01000000" + "00000000" + "00000000" + // mode RAM, start_pad, end_trunc
	"00002000" + "00100000" + "4000" // align 2 MiB, page_size 4096, page_struct_size 64

func TestPFNInfoMarshal(t *testing.T) {
	b, err := testInfo.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != InfoSize {
		t.Fatalf("block is %d bytes, want %d", len(b), InfoSize)
	}
	if got := hex.EncodeToString(b[:94]); got != wantHeader {
		t.Errorf("header:\n got %s\nwant %s", got, wantHeader)
	}
	if !bytes.Equal(b[94:offChecksum], make([]byte, offChecksum-94)) {
		t.Error("padding is not zero")
	}
	// The kernel checks the sum of the block with the checksum field zeroed.
	zeroed := bytes.Clone(b)
	binary.LittleEndian.PutUint64(zeroed[offChecksum:], 0)
	if got, want := binary.LittleEndian.Uint64(b[offChecksum:]), Fletcher64(zeroed); got != want {
		t.Errorf("checksum %#x, want %#x", got, want)
	}
	golden := filepath.Join("testdata", "pfn-info.golden")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("block differs from %s (run with -update if the change is intended)", golden)
	}
}

func TestPFNInfoRoundTrip(t *testing.T) {
	b, err := testInfo.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePFNInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testInfo, got); diff != "" {
		t.Errorf("ParsePFNInfo (-want +got):\n%s", diff)
	}
}

func TestPFNInfoBad(t *testing.T) {
	good, err := testInfo.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	corrupt := func(off int, v byte) []byte { b := bytes.Clone(good); b[off] ^= v; return b }
	tests := []struct {
		name, want string
		in         []byte
	}{
		{"short", "bytes, want", good[:100]},
		{"no signature", "signature", corrupt(0, 1)},
		{"payload flipped", "checksum", corrupt(offNPFNs, 1)},
		{"padding flipped", "checksum", corrupt(2000, 0x80)},
		{"checksum flipped", "checksum", corrupt(offChecksum+7, 1)},
		{"zeros (a plain ext4 image)", "signature", make([]byte, InfoSize)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePFNInfo(tt.in)
			if !errors.Is(err, ErrBadInfo) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParsePFNInfo error = %v, want ErrBadInfo about %q", err, tt.want)
			}
		})
	}
	for _, size := range []int64{0, -Align, Align + pageSize} {
		if _, err := (PFNInfo{DataSize: size}).MarshalBinary(); !errors.Is(err, ErrBadInfo) {
			t.Errorf("MarshalBinary with data size %d: error %v, want ErrBadInfo", size, err)
		}
	}
}
