package devcgroup

import "golang.org/x/sys/unix"

// Registers of the program. r1 holds the context (struct
// bpf_cgroup_dev_ctx: access_type, major, minor, each a u32) on entry and
// is scratch after the loads.
const (
	rRet     = 0
	rScratch = 1
	rType    = 2 // BPF_DEVCG_DEV_BLOCK or _CHAR
	rAccess  = 3 // BPF_DEVCG_ACC_* bits asked for
	rMajor   = 4
	rMinor   = 5
)

// Program emits the device program for t: it denies reading and writing
// every device of reserved first, then decides as t.Allows does.
func Program(t Table, reserved []Device) []Insn {
	prog := []Insn{
		{Op: opLoadW, Dst: rType, Src: 1, Off: 0},
		{Op: opLoadW, Dst: rMajor, Src: 1, Off: 4},
		{Op: opLoadW, Dst: rMinor, Src: 1, Off: 8},
		{Op: opMovReg, Dst: rAccess, Src: rType},
		{Op: opRshImm, Dst: rAccess, Imm: 16},
		{Op: opAndImm, Dst: rType, Imm: 0xffff},
	}
	for _, d := range reserved {
		prog = append(prog, block(match(d.Type, d.Major, d.Minor, denyAny(reservedAccess)), false)...)
	}
	for _, e := range t.Exceptions {
		prog = append(prog, block(match(e.Type, e.Major, e.Minor, grants(e.Access)), !t.DefaultAllow)...)
	}
	return append(prog, ret(t.DefaultAllow)...)
}

// A test is a list of instructions each of which may jump "to the end of
// the block" (Off is filled in by block) when the request does not match.
type test []Insn

// match tests the type and the numbers, then the access with acc.
func match(typ Type, major, minor int64, acc test) test {
	t := test{{Op: opJNEImm, Dst: rType, Imm: devType(typ)}}
	if major != Wildcard {
		t = append(t, Insn{Op: opJNEImm, Dst: rMajor, Imm: int32(uint32(major))})
	}
	if minor != Wildcard {
		t = append(t, Insn{Op: opJNEImm, Dst: rMinor, Imm: int32(uint32(minor))})
	}
	return append(t, acc...)
}

// grants matches when every operation asked for is in a.
func grants(a Access) test {
	if a == AccessAll {
		return nil
	}
	return test{
		{Op: opMovReg, Dst: rScratch, Src: rAccess},
		{Op: opAndImm, Dst: rScratch, Imm: int32(a)},
		{Op: opJNEReg, Dst: rScratch, Src: rAccess},
	}
}

// denyAny matches when any operation asked for is in a.
func denyAny(a Access) test {
	return test{
		{Op: opMovReg, Dst: rScratch, Src: rAccess},
		{Op: opAndImm, Dst: rScratch, Imm: int32(a)},
		{Op: opJEQImm, Dst: rScratch, Imm: 0},
	}
}

// block returns with allow when every test of t passes, and otherwise
// goes on after the block.
func block(t test, allow bool) []Insn {
	out := append(append([]Insn(nil), t...), ret(allow)...)
	for i, in := range t {
		if in.Op&classMask == unix.BPF_JMP32 {
			// The jump lands just after the block: past the rest of
			// the tests and the two return instructions.
			out[i].Off = int16(len(out) - 1 - i)
		}
	}
	return out
}

// classMask selects an opcode's instruction class.
const classMask = 0x07

func ret(allow bool) []Insn {
	v := int32(0)
	if allow {
		v = 1
	}
	return []Insn{{Op: opMovImm, Dst: rRet, Imm: v}, {Op: opExit}}
}

func devType(t Type) int32 {
	if t == TypeBlock {
		return unix.BPF_DEVCG_DEV_BLOCK
	}
	return unix.BPF_DEVCG_DEV_CHAR
}
