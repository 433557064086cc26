package pci

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in   string
		want Address
	}{
		{"0000:3b:02.1", Address{Domain: 0, Bus: 0x3b, Device: 2, Function: 1}},
		{"0000:00:00.0", Address{}},
		{"ffff:ff:1f.7", Address{Domain: 0xffff, Bus: 0xff, Device: 0x1f, Function: 7}},
		{"10de:af:10.3", Address{Domain: 0x10de, Bus: 0xaf, Device: 0x10, Function: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAddress(tt.in)
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseAddress(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want %q", s, tt.in)
			}
		})
	}
}

func TestParseAddressErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // in the error, besides the quoted input
	}{
		{"empty", "", "want dddd:bb:dd.f"},
		{"short form", "3b:02.1", "no domain: want dddd:bb:dd.f, e.g. 0000:3b:02.1"},
		{"no function", "0000:3b:02", "want dddd:bb:dd.f"},
		{"narrow device", "0000:3b:2.0", "want dddd:bb:dd.f"},
		{"wide domain", "10000:01:00.0", "want dddd:bb:dd.f"},
		{"dot for colon", "0000.3b:02.1", "want dddd:bb:dd.f"},
		{"blank", " 0000:3b:02.1", "want dddd:bb:dd.f"},
		{"domain not hex", "00g0:3b:02.1", `domain "00g0"`},
		{"domain sign", "+000:3b:02.1", `domain "+000"`},
		{"bus not hex", "0000:3x:02.1", `bus "3x"`},
		{"device not hex", "0000:3b:_2.1", `device "_2"`},
		{"device 20", "0000:3b:20.1", "device 20 is above 1f"},
		{"device ff", "0000:3b:ff.1", "device ff is above 1f"},
		{"function 8", "0000:3b:02.8", `function "8" is not 0-7`},
		{"function hex", "0000:3b:02.a", `function "a" is not 0-7`},
		{"upper case", "0000:3B:0A.1", "upper-case hex: sysfs writes 0000:3b:0a.1"},
		{"upper-case domain", "ABCD:3b:02.1", "upper-case hex: sysfs writes abcd:3b:02.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAddress(tt.in)
			if !errors.Is(err, ErrInvalidAddress) {
				t.Fatalf("ParseAddress(%q) error = %v, want ErrInvalidAddress", tt.in, err)
			}
			for _, s := range []string{`"` + tt.in + `"`, tt.want} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestMustParseAddressPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParseAddress(bad) did not panic")
		}
	}()
	MustParseAddress("3b:02.1")
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"0000:3b:02.1", "ffff:ff:1f.7", "0000:3B:02.1", "3b:02.1", "0000:3b:20.0", "+000:3b:02.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidAddress) || !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("ParseAddress(%q) error %v does not wrap ErrInvalidAddress and quote the input", s, err)
			}
			return
		}
		if got := a.String(); got != s {
			t.Fatalf("ParseAddress(%q).String() = %q", s, got)
		}
	})
}

func FuzzAddressString(f *testing.F) {
	f.Add(uint16(0), uint8(0x3b), uint8(2), uint8(1))
	f.Add(uint16(0xffff), uint8(0xff), uint8(0x20), uint8(8))
	f.Fuzz(func(t *testing.T, domain uint16, bus, dev, fn uint8) {
		a := Address{Domain: domain, Bus: bus, Device: dev, Function: fn}
		got, err := ParseAddress(a.String())
		valid := dev <= maxDevice && fn <= maxFunction
		if valid != (err == nil) {
			t.Fatalf("ParseAddress(%q) error = %v, want valid = %v", a, err, valid)
		}
		if valid && got != a {
			t.Fatalf("ParseAddress(%q) = %+v, want %+v", a, got, a)
		}
	})
}
