package synth

import (
	"bytes"
	"debug/elf"
	"io"
	"testing"

	"github.com/ulikunitz/xz"
)

// The xz library validates the whole container (index and footer included),
// which pins XZ to the format for the plain-LZMA2 case.
func TestXZReadableByReferenceReader(t *testing.T) {
	data := bytes.Repeat([]byte("kite guest "), 1000)
	r, err := xz.NewReader(bytes.NewReader(XZ(data, false)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading synthetic xz: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("round trip changed the data")
	}
}

func TestELFsParse(t *testing.T) {
	ko, err := elf.NewFile(bytes.NewReader(KernelModule("name=foo", "depends=bar")))
	if err != nil {
		t.Fatal(err)
	}
	sec := ko.Section(".modinfo")
	if sec == nil {
		t.Fatal("no .modinfo section")
	}
	if b, _ := sec.Data(); string(b) != "name=foo\x00depends=bar\x00" {
		t.Errorf(".modinfo = %q", b)
	}
	if _, err := elf.NewFile(bytes.NewReader(Vmlinux(0x1000))); err != nil {
		t.Errorf("parsing vmlinux: %v", err)
	}
}
