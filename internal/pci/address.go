package pci

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidAddress is wrapped by every ParseAddress error.
var ErrInvalidAddress = errors.New("invalid PCI address")

// The highest device and function numbers: 5 and 3 bits.
const (
	maxDevice   = 0x1f
	maxFunction = 7
)

// Address is a PCI function's address on the host: domain, bus, device
// (slot) and function.
type Address struct {
	Domain   uint16
	Bus      uint8
	Device   uint8
	Function uint8
}

// ParseAddress parses the kernel's form of a PCI address, dddd:bb:dd.f in
// lower-case hex with every field at its full width ("0000:3b:02.1"), and
// nothing else:
//   - upper case is refused: a BDF is also a sysfs file name, and sysfs,
//     ethtool and lspci all write lower case, so "0000:3B:02.1" would parse
//     to an address whose string names no file;
//   - the short form bb:dd.f (lspci without -D) is refused: no caller takes
//     it, and the domain it leaves out is not always 0000;
//   - domains above ffff (Intel VMD's "10000:01:00.0") do not fit in Domain.
//
// The error quotes s and says which part is wrong.
func ParseAddress(s string) (Address, error) {
	if len(s) != len("dddd:bb:dd.f") || s[4] != ':' || s[7] != ':' || s[10] != '.' {
		return Address{}, addressError(s, formProblem(s))
	}
	domain, err := strconv.ParseUint(s[0:4], 16, 16)
	if err != nil {
		return Address{}, addressError(s, fmt.Sprintf("domain %q is not 4 hex digits", s[0:4]))
	}
	bus, err := strconv.ParseUint(s[5:7], 16, 8)
	if err != nil {
		return Address{}, addressError(s, fmt.Sprintf("bus %q is not 2 hex digits", s[5:7]))
	}
	dev, err := strconv.ParseUint(s[8:10], 16, 8)
	if err != nil {
		return Address{}, addressError(s, fmt.Sprintf("device %q is not 2 hex digits", s[8:10]))
	}
	if dev > maxDevice {
		return Address{}, addressError(s, fmt.Sprintf("device %s is above %02x", s[8:10], maxDevice))
	}
	fn := s[11]
	if fn < '0' || fn > '0'+maxFunction {
		return Address{}, addressError(s, fmt.Sprintf("function %q is not 0-%d", s[11:], maxFunction))
	}
	a := Address{Domain: uint16(domain), Bus: uint8(bus), Device: uint8(dev), Function: fn - '0'}
	if strings.ContainsAny(s, "ABCDEF") {
		return Address{}, addressError(s, fmt.Sprintf("upper-case hex: sysfs writes %s", a))
	}
	return a, nil
}

// formProblem explains an input of the wrong shape.
func formProblem(s string) string {
	if len(s) == len("bb:dd.f") && s[2] == ':' && s[5] == '.' {
		return fmt.Sprintf("no domain: want dddd:bb:dd.f, e.g. 0000:%s (lspci -D shows the domain)", s)
	}
	return "want dddd:bb:dd.f in lower-case hex, e.g. 0000:3b:02.1"
}

func addressError(s, problem string) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidAddress, s, problem)
}

// MustParseAddress is ParseAddress for constants and tests: it panics on
// error.
func MustParseAddress(s string) Address {
	a, err := ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return a
}

// String returns the kernel's form of a, which ParseAddress takes back. A
// device or function out of range is printed as is, and does not parse.
func (a Address) String() string {
	return fmt.Sprintf("%04x:%02x:%02x.%x", a.Domain, a.Bus, a.Device, a.Function)
}
