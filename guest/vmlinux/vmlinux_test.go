package vmlinux

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kite-vm/kite/guest/internal/synth"
)

func TestExtract(t *testing.T) {
	elf := synth.Vmlinux(0x1000850)
	tests := []struct {
		name    string
		payload []byte
		want    Compression
	}{
		{name: "xz with x86 BCJ", payload: synth.XZ(elf, true), want: XZ},
		{name: "xz plain LZMA2", payload: synth.XZ(elf, false), want: XZ},
		{name: "gzip", payload: synth.Gzip(elf), want: Gzip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Extract(synth.BzImage(tt.payload, len(elf)))
			if err != nil {
				t.Fatalf("Extract() error = %v", err)
			}
			if !bytes.Equal(img.ELF, elf) {
				t.Errorf("Extract() ELF differs from the original (%d vs %d bytes)", len(img.ELF), len(elf))
			}
			if img.Compression != tt.want {
				t.Errorf("Compression = %q, want %q", img.Compression, tt.want)
			}
			if img.PVHEntry != 0x1000850 {
				t.Errorf("PVHEntry = %#x, want 0x1000850", img.PVHEntry)
			}
		})
	}
}

func TestExtractErrors(t *testing.T) {
	elf := synth.Vmlinux(0x1000)
	corrupt := synth.XZ(elf, true)
	corrupt[len(corrupt)/2] ^= 0x55
	noNote := synth.KernelModule("name=x") // an ELF, but relocatable and without a PVH note
	tests := []struct {
		name    string
		payload []byte
		wantErr error
	}{
		{name: "zstd", payload: []byte("\x28\xb5\x2f\xfd rest"), wantErr: ErrUnsupported},
		{name: "bzip2", payload: []byte("BZh91AY&SY"), wantErr: ErrUnsupported},
		{name: "unknown magic", payload: []byte("hello world"), wantErr: ErrUnsupported},
		{name: "corrupt xz", payload: corrupt, wantErr: ErrCorrupt},
		{name: "truncated gzip", payload: synth.Gzip(elf)[:40], wantErr: ErrCorrupt},
		{name: "payload is not ELF", payload: synth.Gzip([]byte("#!/bin/sh\necho not a kernel\n")), wantErr: ErrNotBootable},
		{name: "ELF without PVH note", payload: synth.XZ(noNote, false), wantErr: ErrNotBootable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Extract(synth.BzImage(tt.payload, len(elf)))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Extract() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// The testdata streams were written by XZ Utils 5.4.1 from 32 KiB of x86-64
// code (busybox), so they pin the decoder to the reference encoder.
func TestDecodeXZReference(t *testing.T) {
	const wantSHA = "40682e631ee4bdacbf3f3e51d4b35d74654cd7624c9fe92edb238cea798cdf63"
	for _, name := range []string{
		"x86-code.xz",              // xz --check=crc32 --x86 --lzma2=dict=1MiB
		"x86-code-blocks-crc64.xz", // xz --check=crc64 --block-size=8KiB --x86 ...
		"code-sha256.xz",           // xz --check=sha256 --lzma2=dict=1MiB
	} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			out, err := decodeXZ(in, 1<<20)
			if err != nil {
				t.Fatalf("decodeXZ() error = %v", err)
			}
			sum := sha256.Sum256(out)
			if got := hex.EncodeToString(sum[:]); got != wantSHA {
				t.Errorf("decoded sha256 = %s (%d bytes), want %s", got, len(out), wantSHA)
			}
			if _, err := decodeXZ(in, 1000); !errors.Is(err, ErrCorrupt) {
				t.Errorf("decodeXZ() over the size limit: error = %v, want %v", err, ErrCorrupt)
			}
		})
	}
}
