package seccomp

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ErrInvalid marks a profile Compile refuses; the message names the part.
var ErrInvalid = errors.New("invalid seccomp profile")

// MaxInstructions is the kernel's limit on a filter's length
// (BPF_MAXINSNS).
const MaxInstructions = 4096

// Offsets in struct seccomp_data, and the bit x32 system call numbers
// carry.
const (
	offNR   = 0
	offArch = 4
	offArgs = 16
	x32Bit  = 0x40000000
	maxArgs = 6
)

// badArchRet is what a call through an ABI the profile does not list gets:
// libseccomp's default (SCMP_ACT_KILL).
const badArchRet = unix.SECCOMP_RET_KILL_THREAD

// Filter is a compiled profile, ready for seccomp(2).
type Filter struct {
	// Flags are SECCOMP_FILTER_FLAG_* bits.
	Flags uint
	// Program is the classic BPF program.
	Program []unix.SockFilter
}

// Compile turns p into a filter, and reports (sorted, once each) the
// system call names it skipped because no listed ABI has them.
func Compile(p Profile) (Filter, []string, error) {
	if err := p.validate(); err != nil {
		return Filter{}, nil, err
	}
	c := compiler{defRet: p.DefaultAction.ret(p.DefaultErrno)}
	archs := p.archSet()
	known := map[string]bool{}
	var sections []*section
	for _, a := range []Arch{ArchX86_64, ArchX32, ArchX86} {
		if !archs[a] {
			sections = append(sections, nil)
			continue
		}
		sections = append(sections, c.section(p.Rules, a.table(), known))
	}
	var skipped []string
	for _, r := range p.Rules {
		for _, n := range r.Names {
			if !known[n] && !slices.Contains(skipped, n) {
				skipped = append(skipped, n)
			}
		}
	}
	slices.Sort(skipped)
	prog, err := c.program(sections[0], sections[1], sections[2])
	if err != nil {
		return Filter{}, nil, err
	}
	return Filter{Flags: p.flagBits(), Program: prog}, skipped, nil
}

type compiler struct {
	defRet uint32
}

// condRule is one conditional rule of a system call.
type condRule struct {
	ret   uint32
	conds []Arg
}

// call is what one system call number gets.
type call struct {
	nr     uint32
	conds  []condRule
	uncond *uint32 // the unconditional rule's return value, if any
}

// section is one ABI's calls, in the order the profile first names them.
type section struct {
	calls []*call
}

// section gathers the rules for one ABI's table, marking in known the
// names it has.
func (c *compiler) section(rules []Rule, table map[string]uint32, known map[string]bool) *section {
	s := &section{}
	byNR := map[uint32]*call{}
	for _, r := range rules {
		ret := r.Action.ret(r.Errno)
		for _, name := range r.Names {
			nr, ok := table[name]
			if !ok {
				continue
			}
			known[name] = true
			if ret == c.defRet {
				continue // redundant: runc skips it too
			}
			cl := byNR[nr]
			if cl == nil {
				cl = &call{nr: nr}
				byNR[nr] = cl
				s.calls = append(s.calls, cl)
			}
			cl.add(ret, r.Args)
		}
	}
	return s
}

// add adds a profile rule's action and conditions to the call.
func (cl *call) add(ret uint32, args []Arg) {
	switch {
	case len(args) == 0 && cl.uncond != nil:
		// The first unconditional rule wins, as with runc (libseccomp keeps
		// the rule it has): podman's default profile allows setns among
		// hundreds of calls, then denies it again to containers without
		// CAP_SYS_ADMIN.
	case len(args) == 0:
		cl.uncond = &ret
	case sameArgTwice(args):
		// libseccomp cannot AND two conditions on one argument: runc
		// makes each a rule of its own.
		for _, a := range args {
			cl.conds = append(cl.conds, condRule{ret: ret, conds: []Arg{a}})
		}
	default:
		cl.conds = append(cl.conds, condRule{ret: ret, conds: slices.Clone(args)})
	}
}

func sameArgTwice(args []Arg) bool {
	seen := map[uint32]bool{}
	for _, a := range args {
		if seen[a.Index] {
			return true
		}
		seen[a.Index] = true
	}
	return false
}

// program lays the filter out: dispatch on the audit architecture, then
// each ABI's section (x32 within x86_64's), each ending in the default.
func (c *compiler) program(x64, x32, i386 *section) ([]unix.SockFilter, error) {
	var a assembler
	l64, l32 := a.newLabel(), a.newLabel()
	a.load(offArch)
	if x64 != nil || x32 != nil {
		a.farJumpIf(bpf.JumpEqual, unix.AUDIT_ARCH_X86_64, l64)
	}
	if i386 != nil {
		a.farJumpIf(bpf.JumpEqual, unix.AUDIT_ARCH_I386, l32)
	}
	a.ret(badArchRet)
	if x64 != nil || x32 != nil {
		a.place(l64)
		a.load(offNR)
		lx32 := a.newLabel()
		if x32 != nil {
			a.farJumpIf(bpf.JumpGreaterOrEqual, x32Bit, lx32)
		} else {
			ok := a.newLabel()
			a.jumpIf(bpf.JumpGreaterOrEqual, x32Bit, noLabel, ok)
			a.ret(badArchRet)
			a.place(ok)
		}
		if x64 != nil {
			c.emitSection(&a, x64)
		} else {
			a.ret(badArchRet)
		}
		if x32 != nil {
			a.place(lx32)
			c.emitSection(&a, x32)
		}
	}
	if i386 != nil {
		a.place(l32)
		a.load(offNR)
		c.emitSection(&a, i386)
	}
	raw, err := a.assemble()
	if err != nil {
		return nil, fmt.Errorf("assembling the seccomp filter: %w", err)
	}
	if len(raw) > MaxInstructions {
		return nil, fmt.Errorf("%w: the profile compiles to %d BPF instructions, more than the kernel's %d", ErrInvalid, len(raw), MaxInstructions)
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}

// groupSize bounds a run of compares that jump to one shared return: a
// conditional jump reaches 255 instructions.
const groupSize = 250

// emitSection emits one ABI's rules; A holds the system call number and
// every path ends in a return.
func (c *compiler) emitSection(a *assembler, s *section) {
	plain := map[uint32][]uint32{} // return value -> numbers
	for _, cl := range s.calls {
		if len(cl.conds) == 0 {
			plain[*cl.uncond] = append(plain[*cl.uncond], cl.nr)
			continue
		}
		next := a.newLabel()
		a.farJumpIf(bpf.JumpNotEqual, cl.nr, next)
		for _, r := range cl.conds {
			fail := a.newLabel()
			for _, arg := range r.conds {
				emitArg(a, arg, fail)
			}
			a.ret(r.ret)
			a.place(fail)
		}
		if cl.uncond != nil {
			a.ret(*cl.uncond)
		} else {
			a.ret(c.defRet)
		}
		a.place(next)
	}
	for _, ret := range slices.Sorted(maps.Keys(plain)) {
		nrs := plain[ret]
		slices.Sort(nrs)
		for chunk := range slices.Chunk(nrs, groupSize) {
			hit, after := a.newLabel(), a.newLabel()
			for _, nr := range chunk {
				a.jumpIf(bpf.JumpEqual, nr, hit, noLabel)
			}
			a.jump(after)
			a.place(hit)
			a.ret(ret)
			a.place(after)
		}
	}
	a.ret(c.defRet)
}

// emitArg falls through when arg holds and jumps to fail when it does
// not. Arguments are 64-bit, in two little-endian 32-bit words.
func emitArg(a *assembler, arg Arg, fail label) {
	lo := uint32(offArgs + 8*arg.Index)
	hi := lo + 4
	vhi, vlo := uint32(arg.Value>>32), uint32(arg.Value)
	pass := a.newLabel()
	switch arg.Op {
	case OpEqual:
		a.load(hi)
		a.jumpIf(bpf.JumpEqual, vhi, noLabel, fail)
		a.load(lo)
		a.jumpIf(bpf.JumpEqual, vlo, noLabel, fail)
	case OpNotEqual:
		a.load(hi)
		a.jumpIf(bpf.JumpEqual, vhi, noLabel, pass)
		a.load(lo)
		a.jumpIf(bpf.JumpEqual, vlo, fail, noLabel)
	case OpGreater, OpGreaterOrEqual:
		a.load(hi)
		a.jumpIf(bpf.JumpGreaterThan, vhi, pass, noLabel)
		a.jumpIf(bpf.JumpEqual, vhi, noLabel, fail)
		a.load(lo)
		test := bpf.JumpGreaterThan
		if arg.Op == OpGreaterOrEqual {
			test = bpf.JumpGreaterOrEqual
		}
		a.jumpIf(test, vlo, noLabel, fail)
	case OpLess, OpLessOrEqual:
		// The negation of >= and of >.
		a.load(hi)
		a.jumpIf(bpf.JumpGreaterThan, vhi, fail, noLabel)
		a.jumpIf(bpf.JumpEqual, vhi, noLabel, pass)
		a.load(lo)
		test := bpf.JumpGreaterOrEqual
		if arg.Op == OpLessOrEqual {
			test = bpf.JumpGreaterThan
		}
		a.jumpIf(test, vlo, fail, noLabel)
	case OpMaskedEqual:
		dhi, dlo := uint32(arg.ValueTwo>>32), uint32(arg.ValueTwo)
		a.load(hi)
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: vhi})
		a.jumpIf(bpf.JumpEqual, dhi, noLabel, fail)
		a.load(lo)
		a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: vlo})
		a.jumpIf(bpf.JumpEqual, dlo, noLabel, fail)
	}
	a.place(pass)
}
