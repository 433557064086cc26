package vmlinux

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
)

// xenNotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY: the note QEMU reads to boot
// an ELF kernel through PVH. Without it QEMU refuses the kernel.
const xenNotePhys32Entry = 18

// checkELF verifies that b is an x86-64 executable with a PVH entry note and
// returns the entry address.
func checkELF(b []byte) (uint64, error) {
	if !bytes.HasPrefix(b, []byte(elf.ELFMAG)) {
		return 0, fmt.Errorf("%w: payload is not ELF (starts with % x)", ErrNotBootable, b[:min(len(b), 4)])
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNotBootable, err)
	}
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		return 0, fmt.Errorf("%w: %v %v %v, want ELFCLASS64 EM_X86_64 ET_EXEC", ErrNotBootable, f.Class, f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data, err := io.ReadAll(p.Open())
		if err != nil {
			return 0, fmt.Errorf("%w: reading note segment: %w", ErrNotBootable, err)
		}
		if entry, ok := findPVHNote(data, f.ByteOrder); ok {
			return entry, nil
		}
	}
	return 0, fmt.Errorf("%w: no Xen PHYS32_ENTRY note (kernel built without CONFIG_PVH?)", ErrNotBootable)
}

// findPVHNote walks ELF notes (4-byte aligned, as Linux emits them).
func findPVHNote(data []byte, bo binary.ByteOrder) (uint64, bool) {
	for len(data) >= 12 {
		namesz := int(bo.Uint32(data[0:]))
		descsz := int(bo.Uint32(data[4:]))
		typ := bo.Uint32(data[8:])
		nameEnd := 12 + align4(namesz)
		descEnd := nameEnd + align4(descsz)
		if namesz < 0 || descsz < 0 || descEnd > len(data) || descEnd < 12 {
			return 0, false
		}
		name := string(bytes.TrimRight(data[12:12+namesz], "\x00"))
		desc := data[nameEnd : nameEnd+descsz]
		if name == "Xen" && typ == xenNotePhys32Entry {
			switch descsz {
			case 4:
				return uint64(bo.Uint32(desc)), true
			case 8:
				return bo.Uint64(desc), true
			}
		}
		data = data[descEnd:]
	}
	return 0, false
}

func align4(n int) int { return (n + 3) &^ 3 }
