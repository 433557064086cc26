package seccomp

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// label names a position in a program being assembled; noLabel means the
// next instruction.
type label int

const noLabel label = -1

// asmIns is an instruction whose jumps go to labels, resolved once the
// program is laid out.
type asmIns struct {
	ins    bpf.Instruction
	jt, jf label // for bpf.JumpIf; jt is bpf.Jump's target
}

// assembler lays out a program with forward jumps to labels.
type assembler struct {
	prog   []asmIns
	at     []int // label -> pc; -1 until placed
	nextID label
}

func (a *assembler) newLabel() label {
	a.at = append(a.at, -1)
	a.nextID++
	return a.nextID - 1
}

// place puts l at the next instruction.
func (a *assembler) place(l label) { a.at[l] = len(a.prog) }

func (a *assembler) emit(ins bpf.Instruction) {
	a.prog = append(a.prog, asmIns{ins: ins, jt: noLabel, jf: noLabel})
}

// jumpIf compares A with val: to jt if true, to jf if false.
func (a *assembler) jumpIf(cond bpf.JumpTest, val uint32, jt, jf label) {
	a.prog = append(a.prog, asmIns{ins: bpf.JumpIf{Cond: cond, Val: val}, jt: jt, jf: jf})
}

// jump goes to l unconditionally; its reach is not limited to 255.
func (a *assembler) jump(l label) {
	a.prog = append(a.prog, asmIns{ins: bpf.Jump{}, jt: l, jf: noLabel})
}

// farJumpIf goes to l when A cond val holds, however far l is: a
// conditional jump reaches 255 instructions only.
func (a *assembler) farJumpIf(cond bpf.JumpTest, val uint32, l label) {
	skip := a.newLabel()
	a.jumpIf(cond, val, noLabel, skip)
	a.jump(l)
	a.place(skip)
}

func (a *assembler) load(off uint32) { a.emit(bpf.LoadAbsolute{Off: off, Size: 4}) }

func (a *assembler) ret(v uint32) { a.emit(bpf.RetConstant{Val: v}) }

// assemble resolves the jumps and encodes the program.
func (a *assembler) assemble() ([]bpf.RawInstruction, error) {
	out := make([]bpf.Instruction, len(a.prog))
	for pc, in := range a.prog {
		skip := func(l label) (uint32, error) {
			if l == noLabel {
				return 0, nil
			}
			to := a.at[l]
			if to <= pc {
				return 0, fmt.Errorf("instruction %d jumps to unplaced or earlier label %d", pc, l)
			}
			return uint32(to - pc - 1), nil
		}
		switch ins := in.ins.(type) {
		case bpf.JumpIf:
			t, err := skip(in.jt)
			if err != nil {
				return nil, err
			}
			f, err := skip(in.jf)
			if err != nil {
				return nil, err
			}
			if t > 255 || f > 255 {
				return nil, fmt.Errorf("instruction %d: a conditional jump of %d/%d instructions is out of reach", pc, t, f)
			}
			ins.SkipTrue, ins.SkipFalse = uint8(t), uint8(f)
			out[pc] = ins
		case bpf.Jump:
			s, err := skip(in.jt)
			if err != nil {
				return nil, err
			}
			ins.Skip = s
			out[pc] = ins
		default:
			out[pc] = in.ins
		}
	}
	return bpf.Assemble(out)
}
