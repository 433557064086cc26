package devcgroup

import (
	"cmp"
	"fmt"
	"slices"
)

// Table is the state cgroup v1's devices controller would hold after a
// list of rules: a default decision and the exceptions to it. A request
// (a device and the operations asked for at once) is an exception when
// one exception names its type and numbers (or a wildcard) and grants
// every operation asked for; exceptions all have the opposite decision of
// the default.
type Table struct {
	DefaultAllow bool
	Exceptions   []Exception // sorted by type, major, minor
}

// Exception is one entry of a Table.
type Exception struct {
	Type         Type // TypeChar or TypeBlock
	Major, Minor int64
	Access       Access
}

// Allows reports whether the table lets a process do acc on the device
// (type, major, minor): the reference the emitted program must agree with.
func (t Table) Allows(typ Type, major, minor uint32, acc Access) bool {
	for _, e := range t.Exceptions {
		if e.matches(typ, major, minor, acc) {
			return !t.DefaultAllow
		}
	}
	return t.DefaultAllow
}

func (e Exception) matches(typ Type, major, minor uint32, acc Access) bool {
	return e.Type == typ &&
		(e.Major == Wildcard || e.Major == int64(major)) &&
		(e.Minor == Wildcard || e.Minor == int64(minor)) &&
		acc&^e.Access == 0
}

type key struct {
	typ          Type
	major, minor int64
}

// Plan replays rules, in order, from a table that denies everything, the
// way cgroup v1 applies writes to devices.allow and devices.deny (and so
// the way runc turns a spec's rules into a cgroup v2 program):
//
//   - a rule of type a resets the table to allow (or deny) everything,
//     whatever its numbers and access say;
//   - a rule with the default's decision takes operations out of the
//     exception with exactly its type and numbers;
//   - any other rule adds its operations to that exception.
//
// Like runc, Plan refuses a rule that would take operations out of a
// wildcard exception it only partly covers ("deny c 1:3 w" after "allow c
// 1:* rw"): cgroup v1 silently ignores such a rule, which would leave
// /dev/1:3 writable behind a rule that says otherwise.
func Plan(rules []Rule) (Table, error) {
	p := planner{exc: map[key]Access{}}
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return Table{}, fmt.Errorf("device rule %d (%s): %w", i, r, err)
		}
		if err := p.apply(r); err != nil {
			return Table{}, fmt.Errorf("device rule %d (%s): %w", i, r, err)
		}
	}
	return p.table(), nil
}

type planner struct {
	defaultAllow bool
	exc          map[key]Access
}

func (p *planner) apply(r Rule) error {
	if r.Type == TypeAll {
		p.defaultAllow = r.Allow
		clear(p.exc)
		return nil
	}
	k := key{r.Type, r.Major, r.Minor}
	if r.Allow != p.defaultAllow {
		p.exc[k] |= r.Access
		return nil
	}
	for _, w := range []key{{r.Type, Wildcard, r.Minor}, {r.Type, r.Major, Wildcard}, {r.Type, Wildcard, Wildcard}} {
		if w == k {
			continue
		}
		if overlap := p.exc[w] & r.Access; overlap != 0 {
			return fmt.Errorf("%w: it cannot take %s out of the wider exception %c %s:%s (cgroup v1 would ignore it): change that rule instead",
				ErrInvalid, overlap, w.typ, number(w.major), number(w.minor))
		}
	}
	if left := p.exc[k] &^ r.Access; left != 0 {
		p.exc[k] = left
	} else {
		delete(p.exc, k)
	}
	return nil
}

func (p *planner) table() Table {
	t := Table{DefaultAllow: p.defaultAllow}
	for k, a := range p.exc {
		if a != 0 {
			t.Exceptions = append(t.Exceptions, Exception{Type: k.typ, Major: k.major, Minor: k.minor, Access: a})
		}
	}
	slices.SortFunc(t.Exceptions, func(a, b Exception) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Major, b.Major), cmp.Compare(a.Minor, b.Minor))
	})
	return t
}
