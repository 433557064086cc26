package synth

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"
)

// code is x86 machine code with CALL/JMP rel32 instructions, so the BCJ
// filter has work to do: call +0x10; jmp -0x20; call +0x1234; nops.
var code = []byte{
	0xE8, 0x10, 0x00, 0x00, 0x00,
	0xE9, 0xE0, 0xFF, 0xFF, 0xFF,
	0x90, 0x90, 0x90,
	0xE8, 0x34, 0x12, 0x00, 0x00,
	0xC3,
}

// Vmlinux returns an x86-64 ET_EXEC ELF with a loadable code segment and a
// PT_NOTE segment holding the Xen PHYS32_ENTRY note set to entry.
func Vmlinux(entry uint64) []byte {
	var note bytes.Buffer
	binary.Write(&note, binary.LittleEndian, [3]uint32{4, 8, 18})
	note.WriteString("Xen\x00")
	binary.Write(&note, binary.LittleEndian, entry)
	text := bytes.Repeat(code, 64)

	const ehsize, phsize = 64, 56
	noteOff := uint64(ehsize + 2*phsize)
	textOff := noteOff + uint64(note.Len())
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, elf.Header64{
		Ident:     ident(),
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(elf.EM_X86_64),
		Version:   uint32(elf.EV_CURRENT),
		Entry:     0x1000000,
		Phoff:     ehsize,
		Ehsize:    ehsize,
		Phentsize: phsize,
		Phnum:     2,
	})
	binary.Write(&b, binary.LittleEndian, elf.Prog64{
		Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X),
		Off: textOff, Vaddr: 0x1000000, Paddr: 0x1000000,
		Filesz: uint64(len(text)), Memsz: uint64(len(text)), Align: 4096,
	})
	binary.Write(&b, binary.LittleEndian, elf.Prog64{
		Type: uint32(elf.PT_NOTE), Flags: uint32(elf.PF_R),
		Off: noteOff, Filesz: uint64(note.Len()), Memsz: uint64(note.Len()), Align: 4,
	})
	b.Write(note.Bytes())
	b.Write(text)
	return b.Bytes()
}

// KernelModule returns an x86-64 relocatable ELF (what a .ko is) whose
// .modinfo section holds the given "key=value" fields.
func KernelModule(fields ...string) []byte {
	modinfo := []byte(strings.Join(fields, "\x00") + "\x00")
	shstrtab := []byte("\x00.modinfo\x00.shstrtab\x00")
	const ehsize, shsize = 64, 64
	modinfoOff := uint64(ehsize)
	shstrOff := modinfoOff + uint64(len(modinfo))
	shoff := (shstrOff + uint64(len(shstrtab)) + 7) &^ 7

	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, elf.Header64{
		Ident:     ident(),
		Type:      uint16(elf.ET_REL),
		Machine:   uint16(elf.EM_X86_64),
		Version:   uint32(elf.EV_CURRENT),
		Shoff:     shoff,
		Ehsize:    ehsize,
		Shentsize: shsize,
		Shnum:     3,
		Shstrndx:  2,
	})
	b.Write(modinfo)
	b.Write(shstrtab)
	b.Write(make([]byte, shoff-uint64(b.Len())))
	binary.Write(&b, binary.LittleEndian, elf.Section64{})
	binary.Write(&b, binary.LittleEndian, elf.Section64{
		Name: 1, Type: uint32(elf.SHT_PROGBITS), Flags: uint64(elf.SHF_ALLOC),
		Off: modinfoOff, Size: uint64(len(modinfo)), Addralign: 1,
	})
	binary.Write(&b, binary.LittleEndian, elf.Section64{
		Name: 10, Type: uint32(elf.SHT_STRTAB),
		Off: shstrOff, Size: uint64(len(shstrtab)), Addralign: 1,
	})
	return b.Bytes()
}

func ident() [elf.EI_NIDENT]byte {
	var id [elf.EI_NIDENT]byte
	copy(id[:], elf.ELFMAG)
	id[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	id[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	id[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	return id
}
