package devcgroup

import (
	"math/rand/v2"
	"testing"
)

// probe numbers cover the reserved and default devices, neighbours of
// them, and values that need all 32 bits.
var (
	probeMajors = []uint32{0, 1, 4, 5, 8, 10, 136, 254, 1 << 31, 1<<32 - 1}
	probeMinors = []uint32{0, 1, 2, 3, 5, 7, 11, 64, 200, 229, 1 << 31, 1<<32 - 1}
)

// want is the decision the program must make: the reserved devices'
// refusal first, then the table's.
func want(tb Table, typ Type, major, minor uint32, acc Access) bool {
	for _, d := range Reserved {
		e := Exception{Type: d.Type, Major: d.Major, Minor: d.Minor, Access: AccessAll}
		if e.matches(typ, major, minor, acc) && acc&reservedAccess != 0 {
			return false
		}
	}
	return tb.Allows(typ, major, minor, acc)
}

// checkProgram runs tb's program on every probe.
func checkProgram(t *testing.T, tb Table) {
	t.Helper()
	code := Marshal(Program(tb, Reserved))
	for _, typ := range []Type{TypeChar, TypeBlock} {
		for _, major := range probeMajors {
			for _, minor := range probeMinors {
				for acc := Access(1); acc <= AccessAll; acc++ {
					got, err := run(code, typ, major, minor, acc)
					if err != nil {
						t.Fatalf("%+v: running the program for %c %d:%d %s: %v", tb, typ, major, minor, acc, err)
					}
					if w := want(tb, typ, major, minor, acc); got != w {
						t.Fatalf("%+v: program says %v for %c %d:%d %s, want %v", tb, got, typ, major, minor, acc, w)
					}
				}
			}
		}
	}
}

func TestProgramDecidesAsTheTable(t *testing.T) {
	lists := [][]Rule{
		DefaultRules,
		append([]Rule{denyAll}, DefaultRules...),
		append([]Rule{allowAll}, DefaultRules...),
		{allowAll, char(false, 1, 3, AccessWrite), {Type: TypeBlock, Major: 8, Minor: Wildcard, Access: AccessRead}},
		{denyAll, char(true, 1<<31, 1<<32-1, AccessRead), char(true, 4, Wildcard, AccessAll), char(true, 5, 1, AccessWrite)},
	}
	for _, rules := range lists {
		tb, err := Plan(rules)
		if err != nil {
			t.Fatal(err)
		}
		checkProgram(t, tb)
	}
}

// TestProgramRandomRules checks the program against the table for rule
// lists drawn from the probe numbers, wildcards included.
func TestProgramRandomRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	num := func(probes []uint32) int64 {
		if rng.IntN(4) == 0 {
			return Wildcard
		}
		return int64(probes[rng.IntN(len(probes))])
	}
	planned := 0
	for range 300 {
		rules := make([]Rule, 1+rng.IntN(12))
		for i := range rules {
			typ := []Type{TypeChar, TypeBlock, TypeChar, TypeBlock, TypeAll}[rng.IntN(5)]
			rules[i] = Rule{Allow: rng.IntN(2) == 0, Type: typ, Major: num(probeMajors), Minor: num(probeMinors), Access: Access(rng.IntN(8))}
		}
		tb, err := Plan(rules)
		if err != nil {
			continue // a hole in a wildcard: refused, tested elsewhere
		}
		planned++
		checkProgram(t, tb)
	}
	if planned < 100 {
		t.Fatalf("only %d of 300 random rule lists planned: the generator needs fixing", planned)
	}
}

func TestMarshal(t *testing.T) {
	got := Marshal([]Insn{{Op: opJNEImm, Dst: rMajor, Off: 3, Imm: -2}, {Op: opMovReg, Dst: rScratch, Src: rAccess}})
	want := []byte{0x56, 0x04, 3, 0, 0xfe, 0xff, 0xff, 0xff, 0xbc, 0x31, 0, 0, 0, 0, 0, 0}
	if string(got) != string(want) {
		t.Errorf("Marshal = % x, want % x", got, want)
	}
}
