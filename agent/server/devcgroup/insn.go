package devcgroup

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Insn is one eBPF instruction (struct bpf_insn).
type Insn struct {
	Op       uint8
	Dst, Src uint8 // registers r0..r10
	Off      int16 // jump offset, in instructions after the next one
	Imm      int32
}

// The opcodes the device program uses: 32-bit loads, ALU and compares
// (the context's fields are all u32), and exit.
const (
	opLoadW   = unix.BPF_LDX | unix.BPF_MEM | unix.BPF_W   // dst = *(u32 *)(src + off)
	opMovImm  = unix.BPF_ALU | unix.BPF_MOV | unix.BPF_K   // dst = imm
	opMovReg  = unix.BPF_ALU | unix.BPF_MOV | unix.BPF_X   // dst = src
	opAndImm  = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K   // dst &= imm
	opRshImm  = unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K   // dst >>= imm
	opJNEImm  = unix.BPF_JMP32 | unix.BPF_JNE | unix.BPF_K // if dst != imm: pc += off
	opJNEReg  = unix.BPF_JMP32 | unix.BPF_JNE | unix.BPF_X // if dst != src: pc += off
	opJEQImm  = unix.BPF_JMP32 | unix.BPF_JEQ | unix.BPF_K // if dst == imm: pc += off
	opExit    = unix.BPF_JMP | unix.BPF_EXIT               // return r0
	insnBytes = 8
)

// Marshal encodes insns for BPF_PROG_LOAD, in the machine's byte order
// (little-endian here: the registers' nibbles are dst low, src high).
func Marshal(insns []Insn) []byte {
	b := make([]byte, 0, len(insns)*insnBytes)
	for _, in := range insns {
		b = append(b, in.Op, in.Dst&0xf|in.Src<<4)
		b = binary.LittleEndian.AppendUint16(b, uint16(in.Off))
		b = binary.LittleEndian.AppendUint32(b, uint32(in.Imm))
	}
	return b
}
