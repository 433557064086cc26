package devcgroup

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every refusal of a rule or rule list.
var ErrInvalid = errors.New("invalid device rule")

// Type is a rule's device type.
type Type byte

// Device types. TypeAll in a rule stands for every device and access: it
// resets the list to allow or deny everything.
const (
	TypeAll   Type = 'a'
	TypeChar  Type = 'c'
	TypeBlock Type = 'b'
)

// Access is a set of device operations, in the kernel's
// BPF_DEVCG_ACC_* bits.
type Access uint8

// Device operations.
const (
	AccessMknod Access = 1 << iota // m: create a node
	AccessRead                     // r: open for reading
	AccessWrite                    // w: open for writing

	AccessAll = AccessMknod | AccessRead | AccessWrite
)

// ParseAccess reads an OCI access string: some of "r", "w" and "m".
func ParseAccess(s string) (Access, error) {
	var a Access
	for _, r := range s {
		switch r {
		case 'r':
			a |= AccessRead
		case 'w':
			a |= AccessWrite
		case 'm':
			a |= AccessMknod
		default:
			return 0, fmt.Errorf("%w: access %q: want some of r, w and m", ErrInvalid, s)
		}
	}
	return a, nil
}

func (a Access) String() string {
	var b strings.Builder
	for _, x := range []struct {
		bit Access
		c   byte
	}{{AccessRead, 'r'}, {AccessWrite, 'w'}, {AccessMknod, 'm'}} {
		if a&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	return b.String()
}

// Wildcard as a major or minor number matches every number.
const Wildcard int64 = -1

// Rule is one entry of linux.resources.devices.
type Rule struct {
	Allow bool
	Type  Type
	// Major and Minor are the device numbers, or Wildcard.
	Major, Minor int64
	Access       Access
}

// Validate checks the type, the numbers and the access bits.
func (r Rule) Validate() error {
	switch {
	case r.Type != TypeAll && r.Type != TypeChar && r.Type != TypeBlock:
		return fmt.Errorf("%w: type %q: want a, b or c", ErrInvalid, string(r.Type))
	case r.Major < Wildcard || r.Major > math.MaxUint32:
		return fmt.Errorf("%w: major %d: want a 32-bit number or * (-1)", ErrInvalid, r.Major)
	case r.Minor < Wildcard || r.Minor > math.MaxUint32:
		return fmt.Errorf("%w: minor %d: want a 32-bit number or * (-1)", ErrInvalid, r.Minor)
	case r.Access&^AccessAll != 0:
		return fmt.Errorf("%w: access bits %#x", ErrInvalid, uint8(r.Access))
	}
	return nil
}

// String renders the rule as a devices.allow line would: "allow c 1:* rw".
func (r Rule) String() string {
	verb := "deny"
	if r.Allow {
		verb = "allow"
	}
	return fmt.Sprintf("%s %c %s:%s %s", verb, r.Type, number(r.Major), number(r.Minor), r.Access)
}

func number(n int64) string {
	if n == Wildcard {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}
