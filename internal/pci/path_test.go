package pci

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in        string
		wantSlots []uint8
		wantStr   string
	}{
		{"05/00", []uint8{5, 0}, "05/00"},
		{"1f", []uint8{0x1f}, "1f"},
		{"3/a/1", []uint8{3, 0xa, 1}, "03/0a/01"},
		{"1F/0A", []uint8{0x1f, 0xa}, "1f/0a"},
		{"01/01/01/01/01/01/01/01", []uint8{1, 1, 1, 1, 1, 1, 1, 1}, "01/01/01/01/01/01/01/01"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePath(tt.in)
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.wantSlots, p.Slots()); diff != "" {
				t.Errorf("Slots() (-want +got):\n%s", diff)
			}
			if got := p.String(); got != tt.wantStr {
				t.Errorf("String() = %q, want %q", got, tt.wantStr)
			}
		})
	}
}

func TestParsePathErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", "empty"},
		{"05/", `element ""`},
		{"/05", `element ""`},
		{"20", `element "20" is not a slot 00-1f`},
		{"005", `element "005" is not a 1-2 digit hex slot`},
		{"0g", `element "0g"`},
		{"-1", `element "-1"`},
		{"05/00.0", `element "00.0"`},
		{"01/01/01/01/01/01/01/01/01", "more than 8 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParsePath(tt.in)
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("ParsePath(%q) error = %v, want ErrInvalidPath", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestNewPath(t *testing.T) {
	p, err := NewPath(5, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.String(); got != "05/00" {
		t.Errorf("NewPath(5, 0) = %q, want 05/00", got)
	}
	for _, bad := range [][]uint8{nil, {0x20}, {5, 0x20}, make([]uint8, maxDepth+1)} {
		if _, err := NewPath(bad...); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("NewPath(%v) error = %v, want ErrInvalidPath", bad, err)
		}
	}
}

func TestPathSlotsIsACopy(t *testing.T) {
	p, _ := ParsePath("05/00")
	p.Slots()[0] = 9
	if got := p.String(); got != "05/00" {
		t.Errorf("changing Slots() changed the path to %q", got)
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"05/00", "1f", "3/a/1", "1F/0A", "20", "05//00", "01/01/01/01/01/01/01/01/01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("ParsePath(%q) error %v does not wrap ErrInvalidPath", s, err)
			}
			return
		}
		back, err := ParsePath(p.String())
		if err != nil {
			t.Fatalf("ParsePath(%q) does not take back its String %q: %v", s, p, err)
		}
		if !cmp.Equal(p.Slots(), back.Slots()) || back.String() != p.String() {
			t.Fatalf("ParsePath(%q) = %q, printed and parsed back = %q", s, p, back)
		}
		// In two-digit form (every element two digits), a path prints back
		// as itself, in lower case.
		if len(s) == 3*len(p.Slots())-1 && p.String() != strings.ToLower(s) {
			t.Fatalf("ParsePath(%q).String() = %q", s, p)
		}
	})
}
