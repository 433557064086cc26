package devcgroup

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// run executes a device program the way the kernel would for one request,
// supporting exactly the instructions Program emits; anything else, a jump
// out of the program or a fall off its end is an error. It decodes the
// marshalled bytes, so the encoding is tested with the program.
func run(code []byte, typ Type, major, minor uint32, acc Access) (bool, error) {
	if len(code)%insnBytes != 0 {
		return false, fmt.Errorf("program of %d bytes", len(code))
	}
	ctx := make([]byte, 12)
	binary.LittleEndian.PutUint32(ctx[0:], uint32(acc)<<16|uint32(devType(typ)))
	binary.LittleEndian.PutUint32(ctx[4:], major)
	binary.LittleEndian.PutUint32(ctx[8:], minor)
	var reg [11]uint64
	regSet := [11]bool{1: true}
	n := len(code) / insnBytes
	for pc, steps := 0, 0; ; pc, steps = pc+1, steps+1 {
		if pc < 0 || pc >= n {
			return false, fmt.Errorf("pc %d outside the program (%d instructions)", pc, n)
		}
		if steps > n {
			return false, fmt.Errorf("more steps than instructions: a loop at pc %d", pc)
		}
		b := code[pc*insnBytes:]
		op, dst, src := b[0], b[1]&0xf, b[1]>>4
		off := int16(binary.LittleEndian.Uint16(b[2:]))
		imm := int32(binary.LittleEndian.Uint32(b[4:]))
		if reservedSet(op, off, imm) {
			return false, fmt.Errorf("pc %d: opcode %#x with off %d imm %d: reserved fields set", pc, op, off, imm)
		}
		if dst > 10 || src > 10 {
			return false, fmt.Errorf("pc %d: register out of range", pc)
		}
		readsDst := op == opAndImm || op == opRshImm || op == opJNEImm || op == opJEQImm || op == opJNEReg
		readsSrc := op == opMovReg || op == opJNEReg
		if readsDst && !regSet[dst] || readsSrc && !regSet[src] {
			return false, fmt.Errorf("pc %d: reads a register never written", pc)
		}
		switch op {
		case opLoadW:
			if src != 1 || off < 0 || off > 8 || off%4 != 0 {
				return false, fmt.Errorf("pc %d: load from r%d%+d: only the context's fields may be read", pc, src, off)
			}
			reg[dst], regSet[dst] = uint64(binary.LittleEndian.Uint32(ctx[off:])), true
		case opMovImm:
			reg[dst], regSet[dst] = uint64(uint32(imm)), true
		case opMovReg:
			reg[dst], regSet[dst] = uint64(uint32(reg[src])), true
		case opAndImm:
			reg[dst] = uint64(uint32(reg[dst]) & uint32(imm))
		case opRshImm:
			reg[dst] = uint64(uint32(reg[dst]) >> uint32(imm))
		case opJNEImm:
			if uint32(reg[dst]) != uint32(imm) {
				pc += int(off)
			}
		case opJEQImm:
			if uint32(reg[dst]) == uint32(imm) {
				pc += int(off)
			}
		case opJNEReg:
			if uint32(reg[dst]) != uint32(reg[src]) {
				pc += int(off)
			}
		case opExit:
			if !regSet[0] {
				return false, fmt.Errorf("pc %d: exit without r0 set", pc)
			}
			switch reg[0] {
			case 0:
				return false, nil
			case 1:
				return true, nil
			}
			return false, fmt.Errorf("pc %d: returns %d, not 0 or 1", pc, reg[0])
		default:
			return false, fmt.Errorf("pc %d: opcode %#x not supported", pc, op)
		}
	}
}

// reservedSet reports an instruction with a field set that its opcode
// does not use, which the verifier refuses ("uses reserved fields").
func reservedSet(op uint8, off int16, imm int32) bool {
	usesOff := op&classMask == unix.BPF_JMP32 || op == opLoadW
	usesImm := op == opMovImm || op == opAndImm || op == opRshImm || op == opJNEImm || op == opJEQImm
	return off != 0 && !usesOff || imm != 0 && !usesImm
}
